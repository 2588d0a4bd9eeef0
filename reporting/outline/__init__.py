"""The outline: its model, its loader and the places of its errors."""
