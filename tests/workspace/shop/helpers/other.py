def load_config(path):
    return {"path": path}
