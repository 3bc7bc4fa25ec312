"""The python_function loader that travels with each logged model (`kerazoo_pyfunc`): it
needs Keras, NumPy, pandas and MLflow, nothing of kerazoo."""
