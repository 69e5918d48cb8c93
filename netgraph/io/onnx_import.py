"""Reading other frameworks' ONNX graphs (placeholder while the op importer is written)."""


def import_graph(model, path):
    raise NotImplementedError("ONNX graphs written by other frameworks are not read yet.")
