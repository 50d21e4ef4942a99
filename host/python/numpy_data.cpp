// numpy arrays as cudamlp Datasets: the one place that knows which dtypes and layouts a Dataset takes.
#include <climits>
#include <cmath>
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
  if (num_classes > kMaxClasses)
    throw UsageError(std::to_string(num_classes) + " classes: cudamlp's datasets hold labels as uint8, at most " +
                     std::to_string(kMaxClasses) + " classes");
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
  } else if (X.dtype().is(py::dtype::of<float>())) {
    const auto features = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(X);
    for (size_t i = 0; i < values; ++i)
      if (!std::isfinite(features.data()[i]))
        throw UsageError(what + ": value " + std::to_string(i % size_t(data.dim())) + " of sample " +
                         std::to_string(i / size_t(data.dim())) + " is not finite");
    data.input_scale = InputScale::kNone;
    data.features.assign(features.data(), features.data() + values);
  } else {
    throw UsageError(what + " has dtype " + dtype_text(X) +
                     ": cudamlp takes uint8 pixels (scaled by 1/255) or float32 features (used as given): "
                     "convert with X.astype(np.float32)");
  }
  if (!y_obj.is_none()) data.labels = labels_from_numpy(y_obj, data.count, num_classes, what);
  return data;
}

std::string path_text(const py::handle& path) { return py::str(py::module_::import("os").attr("fspath")(path)); }

InputScale input_scale_of(const std::string& name) {
  const std::optional<InputScale> scale = parse_input_scale(name);
  if (!scale) throw UsageError("input_scale '" + name + "': expected \"pixel/255\" (uint8 pixels) or \"none\" (float32 features)");
  return *scale;
}

// A Dataset's samples and labels as new numpy arrays: X [N, rows, cols] uint8 (images) or [N, D] float32,
// y [N] int64 (or None without labels).
py::tuple dataset_to_numpy(const Dataset& data) {
  py::array X;
  if (data.has_float_features()) {
    py::array_t<float> features({py::ssize_t(data.count), py::ssize_t(data.dim())});
    std::copy(data.features.begin(), data.features.end(), features.mutable_data());
    X = features;
  } else {
    py::array_t<uint8_t> pixels({py::ssize_t(data.count), py::ssize_t(data.rows), py::ssize_t(data.cols)});
    std::copy(data.pixels.begin(), data.pixels.end(), pixels.mutable_data());
    X = pixels;
  }
  if (!data.has_labels()) return py::make_tuple(X, py::none());
  py::array_t<int64_t> labels(py::ssize_t(data.count));
  std::copy(data.labels.begin(), data.labels.end(), labels.mutable_data());
  return py::make_tuple(X, labels);
}

py::array_t<float> float_view(float* data, std::vector<py::ssize_t> shape, const py::handle& owner) {
  return py::array_t<float>(std::move(shape), data, owner);
}

void bind_data(py::module_& m) {
  m.def("load_mnist", [](const py::object& folder) {
    const std::string dir = path_text(folder);
    TrainTestSplit split;
    {
      py::gil_scoped_release release;
      split = load_mnist_dir(dir);
    }
    const py::tuple train = dataset_to_numpy(split.train), test = dataset_to_numpy(split.test);
    return py::make_tuple(train[0], train[1], test[0], test[1]);
  }, py::arg("folder"),
     "MNIST's four files in a folder (train-images-idx3-ubyte, ... plain or .gz), as the CLI's --data reads them: "
     "(X_train [60000, 28, 28] uint8, y_train [60000] int64, X_test, y_test)");
  m.def("load_idx", [](const py::object& images, const py::object& labels) {
    const std::string images_path = path_text(images);
    const std::string labels_path = labels.is_none() ? "" : path_text(labels);
    Dataset data;
    {
      py::gil_scoped_release release;
      data = labels_path.empty() ? load_idx_images(images_path) : load_idx(images_path, labels_path);
    }
    return dataset_to_numpy(data);
  }, py::arg("images"), py::arg("labels") = py::none(),
     "An IDX image file (and its labels), plain or .gz: (X [N, rows, cols] uint8, y [N] int64 or None)");
}

}  // namespace cudamlp::python
