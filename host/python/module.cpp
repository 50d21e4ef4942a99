// cudamlp._cudamlp: the extension module under the Python package cudamlp (host/python/cudamlp), and the
// mapping of cudamlp's typed errors (errors.h) to Python's exceptions:
//   UsageError (a bad argument or option)          -> ValueError
//   FileError (a file unreadable, malformed, ...)  -> cudamlp.FileError, an OSError with .filename
//   TrainingDiverged                               -> cudamlp.TrainingDiverged, a RuntimeError with .step
//   any other cudamlp::Error (a device failure)    -> RuntimeError
#include <pybind11/eval.h>

#include "cudamlp/errors.h"
#include "cudamlp/trainer.h"
#include "python_bindings.h"

namespace cudamlp::python {

namespace {

void translate_errors() {
  py::register_exception_translator([](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const TrainingDiverged& e) {
      py::object type = py::module_::import("cudamlp._cudamlp").attr("TrainingDiverged");
      py::object exception = type(e.what());
      exception.attr("step") = e.step();
      PyErr_SetObject(type.ptr(), exception.ptr());
    } catch (const UsageError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const FileError& e) {
      // cudamlp.FileError: an OSError whose message is cudamlp's, naming the file (.filename).
      py::object type = py::module_::import("cudamlp._cudamlp").attr("FileError");
      py::object exception = type(e.what());
      exception.attr("filename") = e.path();
      PyErr_SetObject(type.ptr(), exception.ptr());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
}

}  // namespace

void define_module(py::module_& m) {
  m.doc() = "cudamlp's library from Python: models, training runs, model files (see the package cudamlp)";
  // The class of diverged runs: a RuntimeError (the learning rate is probably too high), with .step.
  const py::object diverged = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc("cudamlp.TrainingDiverged",
                                "Training diverged: the loss or a weight became NaN or infinite (.step: where)",
                                PyExc_RuntimeError, nullptr));
  m.attr("TrainingDiverged") = diverged;
  // An OSError that prints cudamlp's message ("model.safetensors: truncated ...") rather than OSError's
  // "[Errno None] None: 'model.safetensors'", which it would once .filename is set.
  py::dict scope;
  scope["__builtins__"] = py::module_::import("builtins");
  py::exec(R"(
class FileError(OSError):
    """A file cudamlp cannot open, read, parse or write; .filename names it."""
    def __str__(self):
        return str(self.args[0]) if self.args else ""
)", scope);
  scope["FileError"].attr("__module__") = "cudamlp";
  m.attr("FileError") = scope["FileError"];
  translate_errors();
  bind_data(m);
  bind_model(m);
  bind_train(m);
}

}  // namespace cudamlp::python

PYBIND11_MODULE(_cudamlp, m) { cudamlp::python::define_module(m); }
