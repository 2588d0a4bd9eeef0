"""`report compare`: plan and run pairs, judge them, measure, recommend."""
