"""Reading and writing nets, and exchanging their weights with other frameworks."""
