"""Course examples offered in the sidebar: (sentence A, sentence B or "")."""

EXAMPLES: list[tuple[str, str]] = [
    ("I love my pet Python", "I love coding in Python"),
    ("The man went to the store.", "He bought a gallon of milk."),
    ("Paris is a beautiful city", "I love Paris"),
    ("My friend told me about this class and I love it so far! She was right.", ""),
    ("Sinan ate the cereal and then he had a stomach ache", ""),
    ("Istanbul is a great city to visit", ""),
    ("The cat sat on the mat because it was tired.", ""),
]
