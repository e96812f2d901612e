"""builders: turn the five public raw sources into the ten ECInstruct tasks (paper, Appendix A)."""
