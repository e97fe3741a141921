#!/usr/bin/env python3
"""Writes the synthetic tables the tests/data model files are trained on: 12 users, 15 items
with made-up titles, 200 interactions. Deterministic, no external data."""
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "."
words = ["red", "blue", "green", "fish", "cat", "dog", "night", "day", "star", "moon"]
with open(f"{out}/candidates.csv", "w") as f:
    f.write("item_id,title\n")
    for i in range(15):
        f.write(f"{100 + i},{words[i % 10]} {words[(3 * i + 1) % 10]} ({1990 + i})\n")
state = 12345
def rand(n):
    global state
    state = (state * 1103515245 + 12345) % (1 << 31)
    return state % n
with open(f"{out}/interactions.csv", "w") as f:
    f.write("user_id,timestamp,item_id,title\n")
    for _ in range(200):
        u = rand(12)
        i = (u * 5 + rand(4)) % 15
        f.write(f"u{u},{880000000 + rand(100000)},{100 + i},{words[i % 10]} {words[(3 * i + 1) % 10]} ({1990 + i})\n")
