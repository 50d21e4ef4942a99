// The Python module cudamlp._cudamlp (pybind11): what its source files share. module.cpp defines the
// module and maps cudamlp's errors to Python's exceptions; model_bindings.cpp binds models, model files,
// evaluation and the pictures' preprocessing; train_bindings.cpp the training run; numpy_data.cpp turns
// numpy arrays into Datasets, the one place that knows which dtypes a Dataset takes.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"

namespace cudamlp::python {

namespace py = pybind11;

// Samples from numpy: X [N, D] (or [N, H, W], an image shape) as uint8 (pixels, scaled by 1/255 as
// every backend does: InputScale::kPixel255) or float32 (used as given: kNone), y [N] integer labels in [0, num_classes) or None (no
// labels). A C-contiguous array is read once here (into the Dataset, which the backend is handed once per
// run); any other layout is made contiguous in the same single copy, never per step. `what` names the arguments in errors
// ("X", "X_test"); a problem is a UsageError (Python's ValueError). Needs the GIL.
Dataset dataset_from_numpy(const py::handle& X, const py::handle& y, int num_classes, const std::string& what);

// A path argument, str or os.PathLike, as text.
std::string path_text(const py::handle& path);

// "pixel/255" or "none" (input_scale.h) as an InputScale; UsageError for any other name.
InputScale input_scale_of(const std::string& name);

// A backend by device name with its options (make_backend).
struct DeviceChoice {
  std::string device = "auto";
  BackendOptions options;
};

// A flat float buffer of `owner` (a Model's parameters) as a writable numpy array of `shape`, sharing
// its memory: the array keeps owner alive.
py::array_t<float> float_view(float* data, std::vector<py::ssize_t> shape, const py::handle& owner);

void bind_data(py::module_& m);  // numpy_data.cpp: MNIST and IDX files as arrays
void bind_model(py::module_& m);
void bind_train(py::module_& m);

}  // namespace cudamlp::python
