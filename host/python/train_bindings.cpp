// A training run as Python sees it: cudamlp::train (host/train) over numpy data, with the GIL released
// while it computes. A Run holds what a checkpoint holds (the model, the optimizer's state, the position,
// the options), so that training can go on after a stop, a KeyboardInterrupt or a pickle, exactly as if
// never stopped. Ctrl-C stops after the current step: the stop hook takes the GIL back every
// kSignalPollSeconds and asks Python whether a signal came (PyErr_CheckSignals).
#include <pybind11/stl.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cudamlp/checkpoint.h"
#include "cudamlp/errors.h"
#include "cudamlp/run_limits.h"
#include "cudamlp/trainer.h"
#include "format.h"
#include "python_bindings.h"

namespace cudamlp::python {

namespace {

using namespace pybind11::literals;

// How often a run between two steps takes the GIL to look for Ctrl-C and for a callback's error: taking
// it every step would make each step wait for whatever Python thread holds it (up to its 5 ms switch
// interval), and a person does not notice 50 ms.
constexpr double kSignalPollSeconds = 0.05;

py::dict eval_dict(const EvalResult& result, const std::string& prefix, py::dict into) {
  into[py::str(prefix + "_loss")] = result.loss;
  into[py::str(prefix + "_accuracy")] = result.accuracy();
  return into;
}

py::dict epoch_dict(const EpochReport& report) {
  py::dict epoch("epoch"_a = report.epoch, "steps"_a = report.steps, "train_loss"_a = report.train_loss,
                 "train_accuracy"_a = report.train_accuracy, "seconds"_a = report.seconds,
                 "samples_per_second"_a = report.samples_per_second);
  if (report.test) eval_dict(*report.test, "test", epoch);
  if (report.validation) {
    eval_dict(*report.validation, "val", epoch);
    epoch["best_epoch"] = report.best_epoch;
  }
  return epoch;
}

std::string keep_text(bool keep_best) { return keep_best ? "best" : "last"; }

class Run {
 public:
  Run(const Model& model, const TrainOptions& options, double val_split, DeviceChoice device)
      : model_(model), options_(options), val_split_(val_split), device_(std::move(device)) {
    check_options();
  }

  static std::unique_ptr<Run> from_checkpoint(const std::string& path, DeviceChoice device) {
    Checkpoint checkpoint = load_checkpoint(path);
    if (checkpoint.limit != 0)
      throw UsageError(path + ": a run of `cudamlp train --limit`: resume it with the CLI");
    auto run = std::make_unique<Run>(checkpoint.state.model, checkpoint.options, checkpoint.val_split, std::move(device));
    run->state_ = std::move(checkpoint.state.optimizer);
    run->position_ = checkpoint.state.position;
    run->best_parameters_ = std::move(checkpoint.state.best_parameters);
    run->data_ = checkpoint.data;
    return run;
  }

  Model& model() { return model_; }
  const TrainOptions& options() const { return options_; }
  double val_split() const { return val_split_; }
  const std::string& device() const { return device_.device; }
  const TrainPosition& position() const { return position_; }
  // The backend that trained last ("cpu", "gpu", ...), or "" before the first run.
  std::string backend_name() const { return backend_ ? backend_->name() : ""; }
  const std::string& checkpoint_path() const { return checkpoint_path_; }
  void set_checkpoint_path(const std::string& path) {
    refuse_while_training("checkpoint");
    checkpoint_path_ = path;
  }
  // on_step is called at most this often, in seconds (0: after every step).
  void set_progress_every(double seconds) {
    refuse_while_training("progress_every");
    options_.progress_every_seconds = seconds;
  }

  // Trains from where the run stands to `epochs` (the whole run's count; 0: the options'), on X, y.
  py::list train(const py::handle& X, const py::handle& y, const py::handle& X_test, const py::handle& y_test,
                 int epochs, const py::object& on_epoch, const py::object& on_step) {
    // First: the run in another thread reads the options and the data identity without the GIL.
    refuse_while_training("train");
    if (epochs < 0) throw UsageError("epochs " + std::to_string(epochs) + " must not be negative");
    if (epochs > 0) options_.epochs = epochs;
    if (const std::string problem = epochs_problem(options_.epochs); !problem.empty())
      throw UsageError("epochs " + std::to_string(options_.epochs) + " " + problem);
    if (y.is_none()) throw UsageError("training needs the labels y");
    const int C = model_.output_size();
    Dataset train_data = dataset_from_numpy(X, y, C, "X");
    std::optional<Dataset> test, validation;
    if (!X_test.is_none()) test = dataset_from_numpy(X_test, y_test, C, "X_test");
    if (val_split_ > 0) {
      TrainTestSplit split = hold_out(train_data, val_split_, options_.seed);
      train_data = std::move(split.train);
      validation = std::move(split.test);
    }
    if (train_data.dim() != model_.input_size())
      throw UsageError("X has " + std::to_string(train_data.dim()) + " values per sample, the model takes " +
                       std::to_string(model_.input_size()));
    if (test && test->dim() != model_.input_size())
      throw UsageError("X_test has " + std::to_string(test->dim()) + " values per sample, the model takes " +
                       std::to_string(model_.input_size()));
    const std::string problem = training_memory_problem(model_.network, options_.optimizer, options_.batch);
    if (!problem.empty()) throw UsageError("batch " + std::to_string(options_.batch) + ": " + problem);
    if (data_ || !checkpoint_path_.empty()) {
      const DataIdentity identity = identify_data(train_data);
      if (data_ && position_.step > 0 && !(identity == *data_))
        throw UsageError("this run was trained on " + std::to_string(data_->samples) + " samples of " +
                         std::to_string(data_->dim) + " values; X, y is other data: a resumed run needs the "
                         "same training set (and val_split)");
      data_ = identity;
    }

    training_ = true;  // under the GIL, so two threads cannot both pass
    struct Done {
      bool& flag;
      ~Done() { flag = false; }
    } done{training_};

    py::list epochs_done;
    std::exception_ptr python_error;  // raised by a callback or by a signal: ends the run at the next step
    TrainHooks hooks;
    hooks.on_epoch = [&](const EpochReport& report) {
      py::gil_scoped_acquire gil;
      try {
        py::dict epoch = epoch_dict(report);
        epochs_done.append(epoch);
        if (!on_epoch.is_none()) on_epoch(epoch);
      } catch (py::error_already_set&) {
        if (!python_error) python_error = std::current_exception();
      }
    };
    if (!on_step.is_none())
      hooks.on_step = [&](const StepProgress& progress) {
        py::gil_scoped_acquire gil;
        try {
          on_step(py::dict("epoch"_a = progress.epoch, "sample"_a = progress.sample, "samples"_a = progress.samples,
                           "step"_a = progress.step, "loss"_a = progress.loss,
                           "samples_per_second"_a = progress.samples_per_second));
        } catch (py::error_already_set&) {
          if (!python_error) python_error = std::current_exception();
        }
      };
    auto last_poll = std::chrono::steady_clock::now();
    hooks.stop_requested = [&] {
      if (python_error) return true;
      const auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last_poll).count() < kSignalPollSeconds) return false;
      last_poll = now;
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) python_error = std::make_exception_ptr(py::error_already_set());
      return bool(python_error);
    };
    hooks.on_snapshot = [&](const TrainSnapshot& snapshot) {
      if (checkpoint_path_.empty()) return;
      save_checkpoint(checkpoint_path_, {snapshot, options_, 0, *data_, backend_->name(), "", val_split_});
    };

    TrainResult result;
    {
      py::gil_scoped_release release;
      if (!backend_) backend_ = make_backend(device_.device, device_.options);
      backend_->set_model(model_, options_.optimizer);
      if (!state_.slots.empty()) backend_->set_optimizer_state(state_);
      options_.validation = validation ? &*validation : nullptr;
      try {
        result = cudamlp::train(*backend_, train_data, test ? &*test : nullptr, options_, hooks, position_,
                                best_parameters_);
      } catch (...) {
        options_.validation = nullptr;
        throw;
      }
      options_.validation = nullptr;
      // The run's state goes on from here; the weights are copied into the model's own buffer, so that
      // numpy views of it see them.
      const Model trained = backend_->model();
      std::copy(trained.parameters.begin(), trained.parameters.end(), model_.parameters.begin());
      state_ = backend_->optimizer_state();
      position_ = result.position;
      best_parameters_ = result.best_parameters;
    }
    stopped_early_ = result.stopped_early;
    if (python_error) std::rethrow_exception(python_error);
    if (result.stopped) {  // a stop always has its Python error; should it not, say it was an interrupt
      PyErr_SetNone(PyExc_KeyboardInterrupt);
      throw py::error_already_set();
    }
    return epochs_done;
  }

  // The weights of the best validation epoch (keep="best"), once one was validated; else None.
  std::optional<Model> best_model() const {
    if (best_parameters_.empty()) return std::nullopt;
    Model best = model_;
    best.parameters = best_parameters_;
    return best;
  }

  bool stopped_early() const { return stopped_early_; }

  void save(const std::string& path) const {
    refuse_while_training("save_checkpoint");
    if (!data_) throw UsageError("save_checkpoint " + path + ": the run has not trained yet");
    TrainSnapshot snapshot{position_, model_, state_.slots.empty() ? zero_state(options_.optimizer, model_.parameter_count()) : state_,
                           best_parameters_};
    save_checkpoint(path, {snapshot, options_, 0, *data_, backend_name(), "", val_split_});
  }

  py::dict optimizer_state() const {
    refuse_while_training("optimizer_state");
    py::dict slots;
    for (const auto& [name, values] : state_.slots) {
      py::array_t<float> array(py::ssize_t(values.size()));
      std::copy(values.begin(), values.end(), array.mutable_data());
      slots[py::str(name)] = array;
    }
    return slots;
  }

  void set_optimizer_state(const py::dict& slots) {
    refuse_while_training("optimizer_state");
    OptimizerState state;
    for (const auto& [name, values] : slots) {
      const auto array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(values);
      if (!array) throw UsageError("optimizer_state: " + py::str(name).cast<std::string>() + " is not an array");
      state.slots[name.cast<std::string>()].assign(array.data(), array.data() + array.size());
    }
    if (!state.slots.empty()) check_state(state, options_.optimizer, model_.parameter_count(), "optimizer_state");
    state_ = std::move(state);
  }

  void set_position(int64_t epoch, int64_t step) {
    refuse_while_training("position");
    if (epoch < 0 || step < 0) throw UsageError("position: epoch and step must not be negative");
    position_ = {};
    position_.epoch = epoch;
    position_.step = step;
  }

 private:
  // train() runs with the GIL released and reads the run's state: another thread may not change or read
  // it meanwhile (checked under the GIL, which train() holds while it sets training_).
  void refuse_while_training(const char* what) const {
    if (training_) throw UsageError(std::string(what) + ": this run is training in another thread");
  }

  // The options' ranges, named as the parameters are: a bad value is a ValueError before any work.
  void check_options() const {
    const auto refuse = [](const std::string& name, const std::string& value, const std::string& problem) {
      if (!problem.empty()) throw UsageError(name + " " + value + " " + problem);
    };
    refuse("epochs", std::to_string(options_.epochs), epochs_problem(options_.epochs));
    refuse("batch", std::to_string(options_.batch), batch_problem(options_.batch));
    refuse("lr", format("%g", double(options_.lr)), learning_rate_problem(options_.lr));
    check_optimizer(options_.optimizer);
    check_regularization(options_.regularization, model_.input_size(), "MLP training");
    if (val_split_ != 0 && !(val_split_ > 0 && val_split_ < 1))
      throw UsageError("val_split " + std::to_string(val_split_) + " must be in (0, 1)");
    if ((options_.early_stop > 0 || options_.keep_best) && val_split_ == 0)
      throw UsageError("early_stop and keep=\"best\" need a validation set: give val_split (e.g. 0.1)");
  }

  Model model_;
  TrainOptions options_;
  double val_split_ = 0;
  DeviceChoice device_;
  std::string checkpoint_path_;  // snapshots go here (options' snapshot intervals, and a stop)
  OptimizerState state_;         // empty: zeros, a fresh run
  TrainPosition position_;
  std::vector<float> best_parameters_;
  std::optional<DataIdentity> data_;  // the training set so far (checked when a run goes on)
  bool stopped_early_ = false;
  bool training_ = false;  // train() is running (with the GIL released): a second call is refused
  std::unique_ptr<Backend> backend_;  // made at the first train(), kept for the next
};

TrainOptions make_options(int epochs, int64_t batch, float lr, const std::string& optimizer, float momentum,
                          bool nesterov, float beta1, float beta2, float eps, float weight_decay,
                          const std::string& lr_schedule, int64_t warmup_steps, float lr_min, int64_t lr_step_epochs,
                          float lr_step_gamma, const Augmentation& augmentation, float dropout, uint64_t seed,
                          bool shuffle, int64_t early_stop, bool keep_best, int64_t checkpoint_every_steps,
                          int64_t checkpoint_every_epochs) {
  TrainOptions options;
  options.epochs = epochs;
  options.batch = batch;
  options.lr = lr;
  const std::optional<OptimizerKind> kind = optimizer_kind(optimizer);
  if (!kind) throw UsageError("optimizer '" + optimizer + "': expected sgd, adam or adamw");
  options.optimizer = {*kind, momentum, nesterov, beta1, beta2, eps, weight_decay};
  const std::optional<LrScheduleKind> schedule = lr_schedule_kind(lr_schedule);
  if (!schedule) throw UsageError("lr_schedule '" + lr_schedule + "': expected constant, step, cosine or linear");
  options.schedule = {*schedule, warmup_steps, lr_min, lr_step_epochs, lr_step_gamma};
  options.regularization.dropout = dropout;
  options.regularization.augmentation = augmentation;
  options.regularization.seed = seed;
  options.seed = seed;
  options.shuffle = shuffle;
  if (early_stop < 0) throw UsageError("early_stop " + std::to_string(early_stop) + " must not be negative");
  options.early_stop = early_stop;
  options.keep_best = keep_best;
  if (checkpoint_every_steps < 0 || checkpoint_every_epochs < 0)
    throw UsageError("checkpoint_every must be a positive count of steps or epochs");
  options.snapshot_every_steps = checkpoint_every_steps;
  options.snapshot_every_epochs = checkpoint_every_epochs;
  return options;
}

DeviceChoice device_choice(const std::string& device, int threads, const std::string& gemm, bool tf32, bool cuda_graph) {
  DeviceChoice choice;
  choice.device = device;
  choice.options.threads = threads;
  choice.options.gemm = gemm;
  choice.options.tf32 = tf32;
  choice.options.cuda_graphs = cuda_graph;
  return choice;
}

py::dict options_dict(const Run& run) {
  const TrainOptions& o = run.options();
  const Augmentation& a = o.regularization.augmentation;
  return py::dict("epochs"_a = o.epochs, "batch"_a = o.batch, "lr"_a = o.lr,
                  "optimizer"_a = optimizer_name(o.optimizer.kind), "momentum"_a = o.optimizer.momentum,
                  "nesterov"_a = o.optimizer.nesterov, "beta1"_a = o.optimizer.beta1, "beta2"_a = o.optimizer.beta2,
                  "eps"_a = o.optimizer.eps, "weight_decay"_a = o.optimizer.weight_decay,
                  "lr_schedule"_a = lr_schedule_name(o.schedule.kind), "warmup_steps"_a = o.schedule.warmup_steps,
                  "lr_min"_a = o.schedule.lr_min, "lr_step_epochs"_a = o.schedule.step_epochs,
                  "lr_step_gamma"_a = o.schedule.step_gamma, "rotate"_a = a.rotate_degrees, "scale"_a = a.scale,
                  "shear"_a = a.shear, "shift"_a = a.shift, "elastic"_a = py::make_tuple(a.elastic_alpha, a.elastic_sigma),
                  "image_shape"_a = py::make_tuple(a.rows, a.cols), "dropout"_a = o.regularization.dropout,
                  "seed"_a = o.seed, "shuffle"_a = o.shuffle, "val_split"_a = run.val_split(),
                  "early_stop"_a = o.early_stop, "keep"_a = keep_text(o.keep_best));
}

}  // namespace

void bind_train(py::module_& m) {
  py::class_<Run>(m, "Run",
                  "A training run: cudamlp::train over numpy data, resumable (what a checkpoint holds). "
                  "cudamlp.train and MLPClassifier drive it; its options are named as `cudamlp train`'s flags.")
      .def(py::init([](const Model& model, int epochs, int64_t batch, float lr, const std::string& optimizer,
                       float momentum, bool nesterov, float beta1, float beta2, float eps, float weight_decay,
                       const std::string& lr_schedule, int64_t warmup_steps, float lr_min, int64_t lr_step_epochs,
                       float lr_step_gamma, float rotate, float scale, float shear, float shift, float elastic_alpha,
                       float elastic_sigma, int image_rows, int image_cols, float dropout, uint64_t seed, bool shuffle,
                       double val_split, int64_t early_stop, bool keep_best, const std::string& device, int threads,
                       const std::string& gemm, bool tf32, bool cuda_graph, const std::string& checkpoint,
                       int64_t checkpoint_every_steps, int64_t checkpoint_every_epochs, double progress_every) {
             Augmentation augmentation{image_rows, image_cols, rotate, scale, shear, shift, elastic_alpha, elastic_sigma};
             if (!augmentation.any()) augmentation.rows = augmentation.cols = 0;
             auto run = std::make_unique<Run>(
                 model,
                 make_options(epochs, batch, lr, optimizer, momentum, nesterov, beta1, beta2, eps, weight_decay,
                              lr_schedule, warmup_steps, lr_min, lr_step_epochs, lr_step_gamma, augmentation, dropout,
                              seed, shuffle, early_stop, keep_best, checkpoint_every_steps, checkpoint_every_epochs),
                 val_split, device_choice(device, threads, gemm, tf32, cuda_graph));
             if (!(progress_every >= 0)) throw UsageError("progress_every must be a number of seconds, >= 0");
             run->set_progress_every(progress_every);
             run->set_checkpoint_path(checkpoint);
             return run;
           }),
           py::arg("model"), py::kw_only(), py::arg("epochs") = 3, py::arg("batch") = 64, py::arg("lr") = 0.1f,
           py::arg("optimizer") = "sgd", py::arg("momentum") = 0.0f, py::arg("nesterov") = false,
           py::arg("beta1") = 0.9f, py::arg("beta2") = 0.999f, py::arg("eps") = 1e-8f, py::arg("weight_decay") = 0.0f,
           py::arg("lr_schedule") = "constant", py::arg("warmup_steps") = 0, py::arg("lr_min") = 0.0f,
           py::arg("lr_step_epochs") = 0, py::arg("lr_step_gamma") = 1.0f, py::arg("rotate") = 0.0f,
           py::arg("scale") = 0.0f, py::arg("shear") = 0.0f, py::arg("shift") = 0.0f, py::arg("elastic_alpha") = 0.0f,
           py::arg("elastic_sigma") = 0.0f, py::arg("image_rows") = 0, py::arg("image_cols") = 0,
           py::arg("dropout") = 0.0f, py::arg("seed") = 1, py::arg("shuffle") = true, py::arg("val_split") = 0.0,
           py::arg("early_stop") = 0, py::arg("keep_best") = false, py::arg("device") = "auto", py::arg("threads") = 0,
           py::arg("gemm") = "auto", py::arg("tf32") = false, py::arg("cuda_graph") = true,
           py::arg("checkpoint") = "", py::arg("checkpoint_every_steps") = 0, py::arg("checkpoint_every_epochs") = 0,
           py::arg("progress_every") = 0.1)
      .def_static("from_checkpoint", [](const std::string& path, const std::string& device, int threads,
                                        const std::string& gemm, bool tf32, bool cuda_graph) {
        return Run::from_checkpoint(path, device_choice(device, threads, gemm, tf32, cuda_graph));
      }, py::arg("path"), py::arg("device") = "auto", py::arg("threads") = 0, py::arg("gemm") = "auto",
         py::arg("tf32") = false, py::arg("cuda_graph") = true,
         "The run a checkpoint (the CLI's or this module's) saved, ready to go on: train() continues it exactly")
      .def("train", &Run::train, py::arg("X"), py::arg("y"), py::arg("X_test") = py::none(),
           py::arg("y_test") = py::none(), py::arg("epochs") = 0, py::arg("on_epoch") = py::none(),
           py::arg("on_step") = py::none(),
           "Train from where the run stands to `epochs` in all (0: the run's count). Returns the epochs' metrics as "
           "dicts. Ctrl-C (KeyboardInterrupt) stops after the current step, the run intact: train() again goes on.")
      .def_property_readonly("model", &Run::model, py::return_value_policy::reference_internal,
                             "the run's model, trained in place")
      .def_property_readonly("best_model", &Run::best_model)
      .def_property_readonly("stopped_early", &Run::stopped_early)
      .def_property_readonly("options", &options_dict)
      .def_property_readonly("device", &Run::device)
      .def_property_readonly("backend", &Run::backend_name, "the backend that trained last (\"cpu\", \"gpu\", ...)")
      .def_property("checkpoint", &Run::checkpoint_path, &Run::set_checkpoint_path,
                    "where snapshots go (checkpoint_every_*, and a stop); \"\": nowhere")
      .def_property_readonly("position", [](const Run& run) {
        const TrainPosition& at = run.position();
        return py::dict("epoch"_a = at.epoch, "sample"_a = at.sample, "step"_a = at.step, "best_epoch"_a = at.best_epoch);
      }, "where the run stands: epochs completed, samples of the next one trained, optimizer steps")
      .def("set_position", &Run::set_position, py::arg("epoch"), py::arg("step"),
           "go on from epoch `epoch` (0-based) after `step` optimizer steps, at the epoch's start")
      .def_property("optimizer_state", &Run::optimizer_state, &Run::set_optimizer_state,
                    "every slot of the optimizer (PyTorch's names: momentum_buffer, exp_avg, exp_avg_sq), flat")
      .def("save_checkpoint", &Run::save, py::arg("path"), "write the run as a checkpoint `cudamlp train --resume` reads");
}

}  // namespace cudamlp::python
