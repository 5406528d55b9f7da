"""Never finishes loading: an endless loop at import time."""
# nnlab-hostile: control=none
while True:
    pass
