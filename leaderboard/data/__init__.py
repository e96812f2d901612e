"""Reference data of the leaderboard (the paper's tables, the results JSON Schema)."""
