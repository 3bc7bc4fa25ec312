"""Using logged models outside kerazoo: the python_function loader that travels with each
logged model (`kerazoo_pyfunc`), and `kerazoo serve` (`server`)."""
