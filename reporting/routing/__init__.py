"""Routing: the matrix, the adaptive policy, the routing file, the plan and its cost."""
