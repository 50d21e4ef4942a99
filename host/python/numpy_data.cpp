// numpy arrays as cudamlp Datasets: the one place that knows which dtypes and layouts a Dataset takes.
#include <climits>
#include <string>

#include "cudamlp/errors.h"
#include "python_bindings.h"

namespace cudamlp::python {

namespace {

std::string dtype_text(const py::array& array) { return py::str(array.dtype()).cast<std::string>(); }

// Labels [N] of any integer dtype, each in [0, num_classes), as the Dataset's uint8 labels.
std::vector<uint8_t> labels_from_numpy(const py::handle& y_obj, int64_t count, int num_classes, const std::string& what) {
  const std::string name = "y" + what.substr(1);  // "X_test" -> "y_test"
  const py::array y = py::array::ensure(y_obj);
  if (!y) throw UsageError(name + ": expected an array of integer labels");
  const char kind = y.dtype().kind();
  if (kind != 'i' && kind != 'u' && kind != 'b')
    throw UsageError(name + " has dtype " + dtype_text(y) +
                     ": expected integer labels in [0, classes) (MLPClassifier maps any labels to those)");
  if (y.ndim() != 1 || y.shape(0) != count)
    throw UsageError(name + " must be one label per sample of " + what + ", shape [" + std::to_string(count) + "]");
  if (num_classes > 256)
    throw UsageError(std::to_string(num_classes) + " classes: cudamlp's datasets hold labels as uint8, at most 256 classes");
  const auto labels = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(y);
  std::vector<uint8_t> out(static_cast<size_t>(count));
  const int64_t* values = labels.data();
  for (int64_t i = 0; i < count; ++i) {
    if (values[i] < 0 || values[i] >= num_classes)
      throw UsageError(name + "[" + std::to_string(i) + "] is " + std::to_string(values[i]) + ", outside [0, " +
                       std::to_string(num_classes) + "): the model has " + std::to_string(num_classes) + " outputs");
    out[size_t(i)] = uint8_t(values[i]);
  }
  return out;
}

}  // namespace

Dataset dataset_from_numpy(const py::handle& X_obj, const py::handle& y_obj, int num_classes, const std::string& what) {
  const py::array X = py::array::ensure(X_obj);
  if (!X) throw UsageError(what + ": expected a numpy array of samples, [N, D]");
  if (X.ndim() != 2 && X.ndim() != 3)
    throw UsageError(what + " has " + std::to_string(X.ndim()) + " dimensions: expected [N, D] samples (or [N, H, W] images)");
  Dataset data;
  data.count = X.shape(0);
  data.rows = X.ndim() == 3 ? int(X.shape(1)) : 1;
  const int64_t cols = X.ndim() == 3 ? X.shape(2) : X.shape(1);
  if (cols < 1 || data.rows < 1 || cols > INT_MAX || X.shape(1) > INT_MAX || int64_t(data.rows) * cols > kMaxLayerSize)
    throw UsageError(what + ": " + std::to_string(int64_t(data.rows) * cols) + " values per sample, expected 1 to " +
                     std::to_string(kMaxLayerSize));
  data.cols = int(cols);
  data.num_classes = num_classes;
  const size_t values = size_t(data.count * data.dim());
  if (X.dtype().is(py::dtype::of<uint8_t>())) {
    // forcecast + c_style: a C-contiguous array is read in place, any other is copied once, here.
    const auto pixels = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(X);
    data.pixels.assign(pixels.data(), pixels.data() + values);
  } else {
    throw UsageError(what + " has dtype " + dtype_text(X) +
                     ": cudamlp takes uint8 pixels (scaled by 1/255), e.g. X.astype(np.uint8) of values 0..255");
  }
  if (!y_obj.is_none()) data.labels = labels_from_numpy(y_obj, data.count, num_classes, what);
  return data;
}

py::array_t<float> float_view(float* data, std::vector<py::ssize_t> shape, const py::handle& owner) {
  return py::array_t<float>(std::move(shape), data, owner);
}

}  // namespace cudamlp::python
