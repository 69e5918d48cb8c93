"""Reading and writing nets in files."""
