"""ecinstruct_builders (the repository folder builders/): turn the five public raw sources into the ten ECInstruct tasks (paper, Appendix A)."""
