// `cudamlp train`: train an MLP with minibatch SGD, print per-epoch metrics, save the model.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "augmentation_flags.h"
#include "cli_common.h"
#include "command_line.h"
#include "digit_display.h"
#include "progress.h"
#include "run_recorder.h"
#include "stop_signals.h"
#include "cudamlp/backend.h"
#include "cudamlp/checkpoint.h"
#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/trainer.h"

namespace cudamlp::cli {

namespace {

struct TrainArgs {
  std::string data_dir;
  std::string train_csv;
  std::string train_npy;  // X.npy,y.npy
  std::string test_npy;
  DataSources sources() const { return {data_dir, train_csv, train_npy, test_npy}; }
  std::string hidden = "128,64";
  int epochs = 3;
  int64_t batch = 64;
  double lr = 0.1;
  // The optimizer (optimizer.h): --optimizer and its hyper-parameters, PyTorch's defaults.
  std::string optimizer = "sgd";
  OptimizerConfig hyper;     // --momentum, --nesterov, --beta1, --beta2, --eps, --weight-decay
  // The learning-rate schedule (lr_schedule.h).
  std::string lr_schedule = "constant";
  std::string warmup = "0";  // --warmup N[steps] | Nepochs
  double lr_min = 0.0;
  std::string lr_step;       // --lr-step E,G
  std::optional<LrSchedule> resumed_schedule;  // --resume's, which the schedule flags must agree with
  AugmentationFlags augmentation;              // --rotate, --scale, --shear, --shift, --elastic, --augment
  std::optional<Augmentation> resumed_augmentation;  // --resume's, which those flags must agree with
  double dropout = 0.0;  // --dropout P: inverted dropout after every hidden layer's ReLU while training
  uint64_t seed = 1;
  std::string device = "auto";
  BackendOptions backend;  // --threads, --gemm, --tf32
  std::string out;
  std::string init;
  bool no_shuffle = false;
  int64_t limit = 0;  // 0: all samples
  bool json = false;
  CLI::Option* hidden_option = nullptr;
  std::string checkpoint;        // --checkpoint FILE
  std::string checkpoint_every;  // --checkpoint-every N | Nsteps | Nepochs
  std::string resume;            // --resume FILE
  double val_split = 0;          // --val-split F: hold out this fraction of the training set for validation
  int64_t early_stop = 0;        // --early-stop N: stop after N epochs without a better validation accuracy
  std::string keep = "last";     // --keep best|last: which epoch's weights --out gets
  std::string log;               // --log FILE: the run log (JSON) for `cudamlp report`
  std::string report;            // --report FILE: the HTML training report
  DistributedOptions dist;       // --distributed, --dist-timeout
  const CLI::App* app = nullptr;  // to ask which flags were given
};

nlohmann::json epoch_json(const EpochReport& report, int epochs) {
  nlohmann::json line = {{"event", "epoch"},
                         {"epoch", report.epoch},
                         {"epochs", epochs},
                         {"steps", report.steps},
                         {"train_loss", report.train_loss},
                         {"train_accuracy", report.train_accuracy},
                         {"seconds", report.seconds},
                         {"samples_per_second", report.samples_per_second}};
  if (report.test) {
    line["test_loss"] = report.test->loss;
    line["test_accuracy"] = report.test->accuracy();
  }
  if (report.validation) {
    line["val_loss"] = report.validation->loss;
    line["val_accuracy"] = report.validation->accuracy();
    line["best_epoch"] = report.best_epoch;
  }
  return line;
}

std::string epoch_line(const EpochReport& report, int epochs) {
  std::string test = report.test ? format("%6.2f%%", 100.0 * report.test->accuracy()) : "     -";
  // The validation accuracy, when there is a validation set, with a star on a new best epoch.
  const std::string val = report.validation ? format("  val acc %6.2f%%%s", 100.0 * report.validation->accuracy(),
                                                     report.best_epoch == report.epoch ? "*" : " ")
                                            : "";
  return format("epoch %d/%d  train loss %.4f  train acc %6.2f%%  test acc %s%s  %.0f samples/s  %.2f s",
                report.epoch, epochs, report.train_loss, 100.0 * report.train_accuracy, test.c_str(), val.c_str(),
                report.samples_per_second, report.seconds);
}

// Refuses, before the weights and the step's buffers are allocated, a network and batch whose training
// would need more memory than memory_budget() allows, naming what asked for them (`source`: the flag or
// the file) and the bytes; std::bad_alloc would name neither.
void check_training_memory(const std::string& source, const Network& network, const TrainOptions& options) {
  const std::string problem = training_memory_problem(network, options.optimizer, options.batch);
  if (!problem.empty()) throw UsageError(source + " with --batch " + std::to_string(options.batch) + ": " + problem);
}

// The starting model: --init's file (which must agree with --hidden when both are given), or a new
// He-initialised network of D -> hidden... -> C.
Model initial_model(const TrainArgs& args, const Dataset& train, const TrainOptions& options) {
  const std::vector<int> hidden = parse_hidden(args.hidden);
  if (args.init.empty()) {
    std::vector<int> sizes = {int(train.dim())};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(train.num_classes);
    check_training_memory("--hidden " + args.hidden, mlp_network(sizes), options);
    return make_mlp(sizes, args.seed, train.input_scale);
  }
  Model model = load_model(args.init);
  const std::vector<int> sizes = model.sizes();
  if (model.network.input_scale != train.input_scale)
    throw UsageError("--init " + args.init + ": the model takes " +
                     std::string(input_kind_name(model.network.input_scale)) + ", the data is " +
                     std::string(input_kind_name(train.input_scale)));
  if (sizes.front() != train.dim())
    throw UsageError("--init " + args.init + ": the model takes " + std::to_string(sizes.front()) +
                     " inputs, the data has " + std::to_string(train.dim()) + " values per sample");
  if (sizes.back() != train.num_classes)
    throw UsageError("--init " + args.init + ": the model has " + std::to_string(sizes.back()) +
                     " outputs, the data has " + std::to_string(train.num_classes) + " classes");
  const std::vector<int> file_hidden(sizes.begin() + 1, sizes.end() - 1);
  if (args.hidden_option->count() > 0 && file_hidden != hidden)
    throw UsageError("--hidden " + args.hidden + " disagrees with --init " + args.init + " (" +
                     join_sizes(sizes) + ")");
  check_training_memory("--init " + args.init, model.network, options);
  return model;
}

// ------------------------------------------------------------------------------------------------
// Checkpoints, resume and Ctrl-C

// Where and how often checkpoints are written.
struct CheckpointPlan {
  std::string path;          // periodic checkpoints (--checkpoint); empty: none
  int64_t every_steps = 0;   // --checkpoint-every N[steps]
  int64_t every_epochs = 0;  // --checkpoint-every Nepochs; 1 when --checkpoint comes alone
  // Where every checkpoint goes, Ctrl-C's included: --checkpoint, else next to --out, else nowhere.
  std::string stop_path;
};

// "500" or "500steps": every 500 optimizer steps; "2epochs": every 2 epochs (singulars too).
void parse_checkpoint_every(const std::string& text, CheckpointPlan& plan) {
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string unit(end, text.data() + text.size());
  if (ec != std::errc() || n < 1 ||
      !(unit.empty() || unit == "step" || unit == "steps" || unit == "epoch" || unit == "epochs"))
    throw UsageError("--checkpoint-every " + text + ": expected a positive count of steps or epochs, like 500, "
                     "500steps or 1epoch");
  (unit.starts_with("epoch") ? plan.every_epochs : plan.every_steps) = n;
}

// model.safetensors -> model.ckpt.safetensors: where Ctrl-C saves the run when --checkpoint is not given.
// A name too long for the folder (a 250-character --out) gets its stem shortened to fit.
std::string default_checkpoint_path(const std::string& out) {
  namespace fs = std::filesystem;
  const std::string suffix = ".safetensors", added = ".ckpt.safetensors";
  const fs::path path(out);
  std::string stem = path.filename().string();
  if (stem.size() > suffix.size() && stem.ends_with(suffix)) stem.resize(stem.size() - suffix.size());
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const long name_max = ::pathconf(folder.c_str(), _PC_NAME_MAX);
  if (name_max > 0 && long(stem.size() + added.size()) > name_max) stem.resize(size_t(name_max) - added.size());
  return (path.parent_path() / (stem + added)).string();
}

// validate: check that the files can be written (rank 0 of a distributed run, which alone writes them).
CheckpointPlan plan_checkpoints(const TrainArgs& args, bool validate) {
  CheckpointPlan plan;
  plan.path = args.checkpoint;
  if (args.app->get_option("--checkpoint-every")->count() > 0) {
    if (args.checkpoint.empty()) throw UsageError("--checkpoint-every needs --checkpoint FILE, the file to write");
    parse_checkpoint_every(args.checkpoint_every, plan);
  } else if (!plan.path.empty()) {
    plan.every_epochs = 1;
  }
  plan.stop_path = !plan.path.empty() ? plan.path : args.out.empty() ? "" : default_checkpoint_path(args.out);
  if (plan.stop_path.empty() || !validate) return plan;

  const std::string what = !plan.path.empty() ? "--checkpoint " + plan.path
                                              : plan.stop_path + " (where an interrupted run saves itself, next to --out)";
  check_output_path(plan.path.empty() ? "the checkpoint next to --out" : "--checkpoint", plan.stop_path);
  if (!args.out.empty() && same_file(plan.stop_path, args.out))
    throw UsageError(what + " and --out " + args.out + " name the same file");
  if (!args.init.empty() && same_file(plan.stop_path, args.init))
    throw UsageError(what + " would overwrite --init " + args.init);
  // A checkpoint already there holds an earlier run; only resuming that run may write over it.
  std::error_code ec;
  if (std::filesystem::exists(plan.stop_path, ec) && !(!args.resume.empty() && same_file(args.resume, plan.stop_path)))
    throw UsageError(what + ": the file exists (a checkpoint of an earlier run?); continue that run with --resume " +
                     plan.stop_path + ", or remove the file");
  return plan;
}

// A hyper-parameter's flag: "weight_decay" -> "--weight-decay".
std::string flag_of(const HyperParameter& hyper) {
  std::string flag = std::string("--") + hyper.name;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string float_text(float value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

// --val-split, --early-stop and --keep of a resumed run: the checkpoint's (see adopt_checkpoint_options).
template <typename Disagree>
void adopt_validation_options(TrainArgs& args, const Checkpoint& checkpoint, const Disagree& disagree) {
  const auto given = [&](const char* flag) { return args.app->get_option(flag)->count() > 0; };
  const auto split_text = [](double split) { return split > 0 ? format("--val-split %g", split) : "no --val-split"; };
  if (given("--val-split") && args.val_split != checkpoint.val_split)
    throw disagree(split_text(args.val_split), split_text(checkpoint.val_split));
  args.val_split = checkpoint.val_split;
  const int64_t early_stop = checkpoint.options.early_stop;
  if (given("--early-stop") && args.early_stop != early_stop)
    throw disagree("--early-stop " + std::to_string(args.early_stop),
                   early_stop > 0 ? "--early-stop " + std::to_string(early_stop) : "no --early-stop");
  args.early_stop = early_stop;
  const std::string keep = checkpoint.options.keep_best ? "best" : "last";
  if (given("--keep") && args.keep != keep) throw disagree("--keep " + args.keep, "--keep " + keep);
  args.keep = keep;
}

// Early stopping and --keep best judge epochs by the validation set: without --val-split there is none.
void check_validation_flags(const TrainArgs& args) {
  const std::string split = args.resume.empty() ? "" : " (--resume " + args.resume + " was a run without one)";
  if (args.early_stop > 0 && args.val_split == 0)
    throw UsageError("--early-stop " + std::to_string(args.early_stop) +
                     " needs a validation set: add --val-split F (e.g. 0.1)" + split);
  if (args.keep == "best" && args.val_split == 0)
    throw UsageError("--keep best needs a validation set: add --val-split F (e.g. 0.1)" + split);
}

// A float32 as the double of its shortest text (0.05f -> 0.05, not 0.05000000074505806): what a flag
// given as that text holds, so that settings read from a checkpoint print as the flags did.
double float_value(float value) { return std::stod(float_text(value)); }

// A resumed run goes on exactly as the run that wrote the checkpoint, so the flags that shape the run
// take the checkpoint's values: a flag left out gets it, a flag given must agree with it. --epochs may
// differ (train longer than first planned) but not end before the checkpoint's position.
void adopt_checkpoint_options(TrainArgs& args, const Checkpoint& checkpoint) {
  const auto given = [&](const char* flag) { return args.app->get_option(flag)->count() > 0; };
  const auto disagree = [&](const std::string& flag, const std::string& checkpoint_value) {
    return UsageError(flag + " disagrees with --resume " + args.resume + ", a run with " + checkpoint_value +
                      " (leave the flag out to go on with the checkpoint's value)");
  };
  const TrainOptions& run = checkpoint.options;
  const std::vector<int> sizes = checkpoint.state.model.sizes();
  const std::vector<int> hidden(sizes.begin() + 1, sizes.end() - 1);
  if (given("--hidden") && parse_hidden(args.hidden) != hidden)
    throw disagree("--hidden " + args.hidden, "sizes " + join_sizes(sizes));
  args.hidden = hidden.empty() ? "none" : join_sizes(hidden, ",");
  if (given("--batch") && args.batch != run.batch)
    throw disagree("--batch " + std::to_string(args.batch), "--batch " + std::to_string(run.batch));
  args.batch = run.batch;
  if (given("--lr") && float(args.lr) != run.lr)
    throw disagree("--lr " + float_text(float(args.lr)), "--lr " + float_text(run.lr));
  args.lr = float_value(run.lr);
  // The optimizer: the flags given must name the checkpoint's, and its values.
  const OptimizerConfig& was = run.optimizer;
  if (given("--optimizer") && args.optimizer != optimizer_name(was.kind))
    throw disagree("--optimizer " + args.optimizer, std::string("--optimizer ") + optimizer_name(was.kind));
  args.optimizer = optimizer_name(was.kind);
  for (const HyperParameter& hyper : hyper_parameters(was.kind)) {
    const std::string flag = flag_of(hyper);
    if (given(flag.c_str()) && args.hyper.*hyper.value != was.*hyper.value)
      throw disagree(flag + " " + float_text(args.hyper.*hyper.value), flag + " " + float_text(was.*hyper.value));
    args.hyper.*hyper.value = was.*hyper.value;
  }
  if (given("--nesterov") && !was.nesterov) throw disagree("--nesterov", "SGD without Nesterov momentum");
  args.hyper.nesterov = was.nesterov;
  args.resumed_schedule = run.schedule;
  args.resumed_augmentation = run.regularization.augmentation;
  const bool schedule_ends = run.schedule.kind == LrScheduleKind::kCosine || run.schedule.kind == LrScheduleKind::kLinear;
  if (given("--epochs") && args.epochs != run.epochs && schedule_ends)
    throw disagree("--epochs " + std::to_string(args.epochs),
                   "--epochs " + std::to_string(run.epochs) + " and --lr-schedule " +
                       lr_schedule_name(run.schedule.kind) + ", which ends with the run's last step");
  if (given("--dropout") && float(args.dropout) != run.regularization.dropout)
    throw disagree("--dropout " + float_text(float(args.dropout)),
                   run.regularization.dropout != 0.0f ? "--dropout " + float_text(run.regularization.dropout)
                                                      : "no --dropout");
  args.dropout = float_value(run.regularization.dropout);
  if (given("--seed") && args.seed != run.seed)
    throw disagree("--seed " + std::to_string(args.seed), "--seed " + std::to_string(run.seed));
  args.seed = run.seed;
  if (given("--no-shuffle") && run.shuffle) throw disagree("--no-shuffle", "shuffled epochs");
  args.no_shuffle = !run.shuffle;
  if (given("--limit") && args.limit != checkpoint.limit)
    throw disagree("--limit " + std::to_string(args.limit),
                   checkpoint.limit ? "--limit " + std::to_string(checkpoint.limit) : "no --limit");
  args.limit = checkpoint.limit;
  adopt_validation_options(args, checkpoint, disagree);
  if (!given("--epochs")) args.epochs = run.epochs;
  const TrainPosition& at = checkpoint.state.position;
  if (args.epochs < at.epoch || (args.epochs == at.epoch && at.sample > 0))
    throw UsageError("--epochs " + std::to_string(args.epochs) + ": --resume " + args.resume + " has trained " +
                     std::to_string(at.epoch) + " epochs" + (at.sample > 0 ? " and part of the next" : "") +
                     "; ask for at least " + std::to_string(at.epoch + (at.sample > 0)));
}

// The command that resumes this run from `checkpoint`: the command line it was started with, its
// --resume (if any) replaced and its --init left out (--init excludes --resume, and the checkpoint
// holds the weights).
std::string resume_command(const std::string& checkpoint) {
  std::vector<std::string> args;
  const std::vector<std::string>& line = command_line();
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == "--resume" || line[i] == "--init") {
      ++i;  // and its value
      continue;
    }
    if (line[i].starts_with("--resume=") || line[i].starts_with("--init=")) continue;
    args.push_back(line[i]);
  }
  args.push_back("--resume");
  args.push_back(checkpoint);
  return shell_quote(args);
}

// The run's settings as the log and the report show them, in this order.
Augmentation augmentation_of(const TrainArgs& args);

// schedule: the run's (a resumed run's is its checkpoint's, whatever the flags say).
nlohmann::ordered_json run_settings(const TrainArgs& args, const LrSchedule& schedule, const Model& model,
                                    const Backend& backend, const LabelledData& data) {
  nlohmann::ordered_json settings = {{"sizes", join_sizes(model.sizes())},
                                     {"parameters", model.parameter_count()},
                                     {"device", backend.name()},
                                     {"data", !args.data_dir.empty()    ? args.data_dir
                                              : !args.train_csv.empty() ? args.train_csv
                                                                        : args.train_npy},
                                     {"train samples", data.train.count}};
  if (data.test) settings["test samples"] = data.test->count;
  if (args.val_split > 0) settings["val split"] = args.val_split;
  if (data.validation) settings["validation samples"] = data.validation->count;
  if (args.early_stop > 0) settings["early stop"] = args.early_stop;
  if (args.keep != "last") settings["keep"] = args.keep;
  if (args.limit > 0) settings["limit"] = args.limit;
  settings["epochs"] = args.epochs;
  settings["batch"] = args.batch;
  settings["lr"] = args.lr;
  settings["optimizer"] = args.optimizer;
  for (const HyperParameter& hyper : hyper_parameters(*optimizer_kind(args.optimizer)))
    settings[hyper.name] = float_value(args.hyper.*hyper.value);
  if (args.hyper.nesterov) settings["nesterov"] = true;
  settings["lr schedule"] = lr_schedule_name(schedule.kind);
  if (schedule.warmup_steps > 0) settings["warmup steps"] = schedule.warmup_steps;
  if (schedule.kind == LrScheduleKind::kCosine || schedule.kind == LrScheduleKind::kLinear)
    settings["lr min"] = float_value(schedule.lr_min);
  if (schedule.kind == LrScheduleKind::kStep)
    settings["lr step"] = std::to_string(schedule.step_epochs) + "," + float_text(schedule.step_gamma);
  const Augmentation augmentation = augmentation_of(args);
  if (augmentation.rotate_degrees != 0) settings["rotate"] = float_value(augmentation.rotate_degrees);
  if (augmentation.scale != 0) settings["scale"] = float_value(augmentation.scale);
  if (augmentation.shear != 0) settings["shear"] = float_value(augmentation.shear);
  if (augmentation.shift != 0) settings["shift"] = float_value(augmentation.shift);
  if (augmentation.elastic_alpha != 0)
    settings["elastic"] = float_text(augmentation.elastic_alpha) + "," + float_text(augmentation.elastic_sigma);
  if (args.dropout > 0) settings["dropout"] = float_value(float(args.dropout));
  settings["seed"] = args.seed;
  settings["shuffle"] = !args.no_shuffle;
  if (args.backend.threads > 0) settings["threads"] = args.backend.threads;
  if (!args.init.empty()) settings["init"] = args.init;
  if (!args.resume.empty()) settings["resumed from"] = args.resume;
  if (!args.out.empty()) settings["model file"] = args.out;
  return settings;
}

// Checks every output up front (rank 0 of a distributed run, which alone writes them): each can be
// written, none is one of the files the run reads, and none names the same file as another. The model
// may replace its own --init (a deliberate update), and the checkpoint the one it resumes (the same run
// going on). Returns where checkpoints go.
CheckpointPlan plan_outputs(const TrainArgs& args, bool root) {
  if (root && !args.out.empty()) check_output_path("--out", args.out);
  if (root && !args.log.empty()) check_output_path("--log", args.log);
  if (root && !args.report.empty()) check_output_path("--report", args.report);
  CheckpointPlan plan = plan_checkpoints(args, root);
  std::vector<NamedFile> data = mnist_folder_inputs("--data", args.data_dir);
  data.push_back({"--train-csv", args.train_csv});
  for (const std::string flag : {"--train-npy", "--test-npy"})
    for (const NamedFile& file : npy_pair_inputs(flag, flag == std::string("--train-npy") ? args.train_npy : args.test_npy))
      data.push_back(file);
  const NamedFile init{"--init", args.init}, resume{"--resume", args.resume};
  const NamedFile out{"--out", args.out}, checkpoint{"--checkpoint", plan.stop_path}, log{"--log", args.log},
      report{"--report", args.report};
  const auto plus = [](std::vector<NamedFile> files, const std::vector<NamedFile>& more) {
    files.insert(files.end(), more.begin(), more.end());
    return files;
  };
  check_outputs_apart({out}, plus(data, {resume}));
  check_outputs_apart({checkpoint}, plus(data, {init}));
  check_outputs_apart({log, report}, plus(data, {init, resume}));
  check_outputs_apart({out, checkpoint, log, report}, {});
  return plan;
}

// The training, validation and test sets as the flags shape them: --limit, then --val-split's held-out
// part of the training set, the validation set. The test set (--data's t10k) stays as it is.
LabelledData load_run_data(const TrainArgs& args) {
  LabelledData data = load_labelled_data(args.sources());
  if (args.limit > 0) data.train = data.train.first(args.limit);
  if (args.val_split > 0) {
    TrainTestSplit split = hold_out(data.train, args.val_split, args.seed);
    data.train = std::move(split.train);
    data.validation = std::move(split.test);
  }
  return data;
}

// A resumed run must see the data the checkpoint was trained on.
void check_resumed_data(const TrainArgs& args, const DataIdentity& was, const DataIdentity& is) {
  if (is == was) return;
  throw UsageError(format("--resume %s was trained on %lld samples of %lld values (checksum %016llx), this data "
                          "has %lld samples of %lld values (checksum %016llx): resume with the same "
                          "--data, --train-csv or --train-npy, --limit and --val-split",
                          args.resume.c_str(), (long long)was.samples, (long long)was.dim,
                          (unsigned long long)was.checksum, (long long)is.samples, (long long)is.dim,
                          (unsigned long long)is.checksum));
}

// --warmup's count in steps: "N" or "Nsteps", or "Nepochs" of steps_per_epoch steps each.
int64_t warmup_steps(const std::string& text, int64_t steps_per_epoch) {
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string unit(end, text.data() + text.size());
  if (ec != std::errc() || n < 0 ||
      !(unit.empty() || unit == "step" || unit == "steps" || unit == "epoch" || unit == "epochs"))
    throw UsageError("--warmup " + text + ": expected a count of steps or epochs, like 500, 500steps or 2epochs");
  if (!unit.starts_with("epoch")) return n;
  if (n > INT64_MAX / steps_per_epoch) throw UsageError("--warmup " + text + " is too long");
  return n * steps_per_epoch;
}

LrSchedule lr_schedule_of_flags(const TrainArgs& args, int64_t samples, const LrSchedule& base);

// The learning-rate schedule the flags name, for epochs of `samples` samples; a resumed run's is the
// checkpoint's, which the schedule's flags, when given, must agree with.
LrSchedule lr_schedule_of(const TrainArgs& args, int64_t samples) {
  if (!args.resumed_schedule) return lr_schedule_of_flags(args, samples, {});
  // The flags given, over the checkpoint's schedule, must leave it as it is.
  if (!(lr_schedule_of_flags(args, samples, *args.resumed_schedule) == *args.resumed_schedule))
    throw UsageError("--lr-schedule, --warmup, --lr-min or --lr-step disagrees with --resume " + args.resume +
                     " (a run with --lr-schedule " + lr_schedule_name(args.resumed_schedule->kind) + ", warm-up " +
                     std::to_string(args.resumed_schedule->warmup_steps) +
                     " steps; leave the flags out to go on with the checkpoint's schedule)");
  return *args.resumed_schedule;
}

// The schedule of `base` (the defaults, or a resumed run's) with each schedule flag given in its place.
LrSchedule lr_schedule_of_flags(const TrainArgs& args, int64_t samples, const LrSchedule& base) {
  const auto given = [&](const char* flag) { return args.app->get_option(flag)->count() > 0; };
  LrSchedule schedule = base;
  if (given("--lr-schedule")) schedule.kind = *lr_schedule_kind(args.lr_schedule);  // the check knows the names
  if (given("--warmup")) schedule.warmup_steps = warmup_steps(args.warmup, (samples + args.batch - 1) / args.batch);
  if (given("--lr-min")) schedule.lr_min = float(args.lr_min);
  const std::string kind = lr_schedule_name(schedule.kind);
  const bool ends_somewhere = schedule.kind == LrScheduleKind::kCosine || schedule.kind == LrScheduleKind::kLinear;
  if (given("--lr-min") && !ends_somewhere)
    throw UsageError("--lr-min is the end value of --lr-schedule cosine or linear, not of " + kind);
  if (given("--lr-step") && schedule.kind != LrScheduleKind::kStep)
    throw UsageError("--lr-step applies to --lr-schedule step only");
  if (!given("--lr-step") && schedule.kind == LrScheduleKind::kStep && schedule.step_epochs == 0)
    throw UsageError("--lr-schedule step needs --lr-step E,G (multiply by G every E epochs)");
  if (given("--lr-step")) {
    const size_t comma = args.lr_step.find(',');
    const std::string epochs = args.lr_step.substr(0, comma);
    const std::string gamma = comma == std::string::npos ? "" : args.lr_step.substr(comma + 1);
    int64_t e = 0;
    double g = 0;
    const auto [end, ec] = std::from_chars(epochs.data(), epochs.data() + epochs.size(), e);
    if (ec != std::errc() || end != epochs.data() + epochs.size() || !CLI::detail::lexical_cast(gamma, g))
      throw UsageError("--lr-step " + args.lr_step + ": expected E,G, like 10,0.1 (every 10 epochs, times 0.1)");
    schedule.step_epochs = e;
    schedule.step_gamma = float(g);
  }
  return schedule;
}

// The optimizer the flags name. A hyper-parameter of another optimizer is refused, not ignored.
OptimizerConfig optimizer_of(const TrainArgs& args) {
  OptimizerConfig config = args.hyper;
  config.kind = *optimizer_kind(args.optimizer);  // the flag's check accepts only known names
  const std::vector<HyperParameter> own = hyper_parameters(config.kind);
  for (const OptimizerKind other : {OptimizerKind::kSgd, OptimizerKind::kAdam})
    for (const HyperParameter& hyper : hyper_parameters(other)) {
      const std::string flag = flag_of(hyper);
      const bool is_own = std::any_of(own.begin(), own.end(), [&](const HyperParameter& h) { return h.name == hyper.name; });
      if (!is_own && args.app->get_option(flag)->count() > 0)
        throw UsageError(flag + " is not a hyper-parameter of --optimizer " + args.optimizer);
    }
  if (args.app->get_option("--nesterov")->count() > 0 && config.kind != OptimizerKind::kSgd)
    throw UsageError("--nesterov is SGD's: it needs --optimizer sgd");
  check_optimizer(config);
  return config;
}

// The distortions the flags ask for; a resumed run's, which flags given must agree with (no shape).
Augmentation augmentation_of(const TrainArgs& args) {
  if (!args.resumed_augmentation) return augmentation_of_flags(args.augmentation, *args.app);
  Augmentation was = *args.resumed_augmentation;
  was.rows = was.cols = 0;
  // The flags given, over the checkpoint's distortions, must leave them as they are.
  if (!(augmentation_of_flags(args.augmentation, *args.app, was) == was))
    throw UsageError(format("--rotate, --scale, --shear, --shift, --elastic or --augment disagrees with --resume %s "
                            "(a run with --rotate %g --scale %g --shear %g --shift %g --elastic %g,%g; leave them out "
                            "to go on with the checkpoint's)",
                            args.resume.c_str(), double(was.rotate_degrees), double(was.scale), double(was.shear),
                            double(was.shift), double(was.elastic_alpha), double(was.elastic_sigma)));
  return was;
}

TrainOptions train_options(const TrainArgs& args, const CheckpointPlan& plan, int64_t samples) {
  TrainOptions options;
  options.epochs = args.epochs;
  options.batch = args.batch;
  options.lr = float(args.lr);
  options.optimizer = optimizer_of(args);
  options.schedule = lr_schedule_of(args, samples);
  check_lr_schedule(options.schedule, options.lr, int64_t(options.epochs) * ((samples + args.batch - 1) / args.batch));
  options.regularization.dropout = float(args.dropout);
  options.seed = args.seed;
  options.shuffle = !args.no_shuffle;
  options.snapshot_every_steps = plan.every_steps;
  options.snapshot_every_epochs = plan.every_epochs;
  options.early_stop = args.early_stop;
  options.keep_best = args.keep == "best";
  return options;
}

// What the run is about to do, before its first epoch.
// "lr 0.1, momentum 0.9" or "adamw lr 0.001, weight decay 0.05, cosine schedule, warm-up 938 steps":
// the optimizer and schedule (and dropout), what differs from the defaults.
std::string recipe_text(const TrainArgs& args, const LrSchedule& schedule) {
  const OptimizerKind kind = *optimizer_kind(args.optimizer);
  std::string text = (kind == OptimizerKind::kSgd ? "" : args.optimizer + " ") + format("lr %g", args.lr);
  const OptimizerConfig defaults;
  for (const HyperParameter& hyper : hyper_parameters(kind))
    if (hyper.name == std::string("momentum") || args.hyper.*hyper.value != defaults.*hyper.value) {
      std::string name = hyper.name;
      std::replace(name.begin(), name.end(), '_', ' ');
      text += format(", %s %g", name.c_str(), double(args.hyper.*hyper.value));
    }
  if (args.hyper.nesterov) text += " (Nesterov)";
  if (schedule.kind != LrScheduleKind::kConstant) text += std::string(", ") + lr_schedule_name(schedule.kind) + " schedule";
  if (schedule.warmup_steps > 0) text += ", warm-up " + std::to_string(schedule.warmup_steps) + " steps";
  const Augmentation a = augmentation_of(args);
  if (a.any())
    text += format(", augmentation (rotate %g, scale %g, shear %g, shift %g, elastic %g,%g)", double(a.rotate_degrees),
                   double(a.scale), double(a.shear), double(a.shift), double(a.elastic_alpha), double(a.elastic_sigma));
  if (args.dropout > 0) text += format(", dropout %g", args.dropout);
  return text;
}

void print_run_header(std::ostream& human, const TrainArgs& args, const LrSchedule& schedule, const Model& model,
                      const Backend& backend,
                      const LabelledData& data, const Communicator* comm, const std::optional<Checkpoint>& resumed) {
  human << format("training %s MLP (%lld parameters) on %lld samples: device %s, batch %lld, %s, seed %llu%s\n",
                  join_sizes(model.sizes()).c_str(), (long long)model.parameter_count(), (long long)data.train.count,
                  backend.name().c_str(), (long long)args.batch, recipe_text(args, schedule).c_str(),
                  (unsigned long long)args.seed, args.no_shuffle ? ", no shuffle" : "");
  if (comm != nullptr) {
    const int64_t fewest = args.batch / comm->size(), most = (args.batch + comm->size() - 1) / comm->size();
    const std::string share =
        fewest == most ? std::to_string(most) : format("%lld-%lld", (long long)fewest, (long long)most);
    human << format("data-parallel over %d ranks (%s): %s samples of each batch of %lld per rank\n", comm->size(),
                    comm->description().c_str(), share.c_str(), (long long)args.batch);
  }
  if (data.validation)
    human << format("holding out %lld samples (--val-split %g, seed %llu) as the validation set%s\n",
                    (long long)data.validation->count, args.val_split, (unsigned long long)args.seed,
                    args.early_stop > 0 ? format("; early stop after %lld epochs without a better validation "
                                                 "accuracy", (long long)args.early_stop).c_str()
                                        : "");
  if (resumed) {
    const TrainPosition& start = resumed->state.position;
    human << format("resuming %s: %lld epochs and %lld samples trained, step %lld\n", args.resume.c_str(),
                    (long long)start.epoch, (long long)start.sample, (long long)start.step);
  }
}

// A run stopped by a signal: where, and how to go on; returns the shell's exit code for that signal.
int report_stop(const TrainArgs& args, const TrainResult& result, const CheckpointPlan& plan,
                const std::string& cannot_checkpoint, const StopSignals& signals, const Communicator* comm,
                int64_t train_samples, bool json) {
  const bool root = comm == nullptr || comm->rank() == 0;
  const TrainPosition& at = result.position;
  const std::string where = format("after step %lld (epoch %lld of %d: %lld of %lld samples)", (long long)at.step,
                                   (long long)at.epoch + 1, args.epochs, (long long)at.sample, (long long)train_samples);
  // In a distributed run a rank may stop because another one was signalled (mpirun sends SIGTERM).
  const int signal_number = signals.signal_number() != 0 ? signals.signal_number() : SIGTERM;
  const char* signal_text = signal_name(signal_number);
  const std::string under_mpirun = comm != nullptr ? format(" (under mpirun -np %d, as before)", comm->size()) : "";
  if (!root) {
    // rank 0 says it all
  } else if (plan.stop_path.empty()) {
    std::cerr << "cudamlp: stopped by " << signal_text << " " << where << "; no checkpoint written ("
              << (cannot_checkpoint.empty() ? "give --checkpoint FILE or --out FILE to have one" : cannot_checkpoint)
              << ")\n";
  } else {
    std::cerr << "cudamlp: stopped by " << signal_text << " " << where << "; checkpoint saved to " << plan.stop_path
              << "; resume with: " << resume_command(plan.stop_path) << under_mpirun << "\n";
  }
  if (json) {
    nlohmann::json stopped = {{"event", "stopped"},
                              {"signal", signal_text},
                              {"steps", at.step},
                              {"checkpoint", plan.stop_path.empty() ? nlohmann::json() : nlohmann::json(plan.stop_path)}};
    if (!plan.stop_path.empty()) stopped["resume"] = resume_command(plan.stop_path);
    std::cout << stopped.dump() << std::endl;
  }
  return 128 + signal_number;  // the shell's convention for "ended by that signal"
}

// The --json line of a run that ended: its settings and final metrics.
nlohmann::json done_json(const TrainArgs& args, const LrSchedule& schedule, const Model& model, const Backend& backend,
                         int64_t train_samples, double seconds, const std::optional<EpochReport>& last) {
  nlohmann::json done = {{"event", "done"},
                         {"device", backend.name()},
                         {"sizes", model.sizes()},
                         {"parameters", model.parameter_count()},
                         {"train_samples", train_samples},
                         {"epochs", args.epochs},
                         {"batch", args.batch},
                         {"lr", args.lr},
                         {"optimizer", args.optimizer},
                         {"lr_schedule", lr_schedule_name(schedule.kind)},
                         {"dropout", args.dropout},
                         {"seed", args.seed},
                         {"seconds", seconds},
                         {"model", args.out.empty() ? nlohmann::json() : nlohmann::json(args.out)}};
  for (const HyperParameter& hyper : hyper_parameters(*optimizer_kind(args.optimizer)))
    done[hyper.name] = float_value(args.hyper.*hyper.value);
  if (last) {
    done["steps"] = last->steps;
    done["train_loss"] = last->train_loss;
    done["train_accuracy"] = last->train_accuracy;
    if (last->test) done["test_accuracy"] = last->test->accuracy();
    if (last->validation) done["val_accuracy"] = last->validation->accuracy();
  }
  return done;
}

// "stopped early after epoch 7 of 20: no better validation accuracy for 3 epochs since epoch 4".
std::string early_stop_text(const TrainArgs& args, const TrainResult& result) {
  return format("stopped early after epoch %lld of %d: the validation accuracy has not improved for %lld epochs "
                "(--early-stop %lld) since its best, epoch %lld",
                (long long)result.position.epoch, args.epochs, (long long)(result.position.epoch - result.position.best_epoch),
                (long long)args.early_stop, (long long)result.position.best_epoch);
}

// Which epoch's weights --out holds, when there is a validation set to tell them apart.
std::string saved_epoch_text(const TrainArgs& args, const TrainResult& result, bool kept_best) {
  if (args.val_split == 0) return "";
  if (kept_best)
    return format(" (the weights of epoch %lld, the best validation accuracy: --keep best)",
                  (long long)result.position.best_epoch);
  return format(" (the weights of the last epoch, %lld: --keep last)", (long long)result.position.epoch);
}

// Trains alone (comm null) or as one rank of a data-parallel run. Rank 0 alone prints and writes files;
// every rank reads the inputs (--data, --init, --resume must be readable on each machine).
int train_as(const TrainArgs& given_args, Communicator* comm) {
  TrainArgs args = given_args;  // a checkpoint fills in the flags left out
  const bool root = comm == nullptr || comm->rank() == 0;
  CheckpointPlan plan = plan_outputs(args, root);
  std::optional<Checkpoint> resumed;
  if (!args.resume.empty()) {
    resumed = load_checkpoint(args.resume);
    adopt_checkpoint_options(args, *resumed);
  }
  check_validation_flags(args);
  parse_hidden(args.hidden);  // flag errors before the (slow) data load
  args.backend.communicator = comm;
  std::unique_ptr<Backend> backend = make_backend(args.device, args.backend);
  // A backend that cannot hand out its optimizer state cannot checkpoint: say so now, not hours in.
  std::string cannot_checkpoint;
  if (!backend->traits().can_checkpoint) {
    cannot_checkpoint = "the " + backend->name() + " backend cannot save its optimizer state";
    if (!args.checkpoint.empty() || resumed)
      throw UsageError(std::string(resumed ? "--resume: " : "--checkpoint: ") + cannot_checkpoint +
                       " (use --device cpu or reference)");
    plan.stop_path.clear();  // nor on Ctrl-C
  }

  LabelledData data = load_run_data(args);
  // Which data the checkpoints were (or will be) trained on; only computed when it matters.
  const DataIdentity identity =
      resumed || !plan.stop_path.empty() || comm != nullptr ? identify_data(data.train) : DataIdentity{};
  if (comm != nullptr)
    comm->check_same(identity.checksum ^ uint64_t(identity.samples) ^ (uint64_t(identity.dim) << 32),
                     "the training data");
  if (resumed) check_resumed_data(args, resumed->data, identity);
  TrainOptions options = train_options(args, plan, data.train.count);
  options.regularization.augmentation = with_image_shape(
      augmentation_of(args), data.train, args.sources().train_flag());
  options.validation = data.validation ? &*data.validation : nullptr;
  if (resumed) check_training_memory("--resume " + args.resume, resumed->state.model.network, options);
  const Model model = resumed ? resumed->state.model : initial_model(args, data.train, options);
  backend->set_model(model, options.optimizer);
  if (resumed) backend->set_optimizer_state(resumed->state.optimizer);
  const TrainPosition start = resumed ? resumed->state.position : TrainPosition{};

  // With --json, stdout carries only JSON lines; the human-readable lines go to stderr. Only rank 0 talks.
  std::ostream quiet(nullptr);
  std::ostream& human = !root ? quiet : args.json ? std::cerr : std::cout;
  const bool json = root && args.json;
  print_run_header(human, args, options.schedule, model, *backend, data, comm, resumed);

  double seconds = 0.0;
  std::optional<EpochReport> last;
  int64_t checkpoint_step = -1;  // step of the last checkpoint this run wrote
  StopSignals signals(!root);    // Ctrl-C from here on stops after a step, with a checkpoint
  RunRecorder recorder(root ? args.log : "", root ? args.report : "", run_settings(args, options.schedule, model, *backend, data));
  if (resumed) recorder.continue_from(resumed->history, args.resume, resumed->state.position.epoch);
  // A progress bar on stderr when it is a terminal; it makes way for every line printed.
  std::optional<ProgressBar> bar;
  if (root && stderr_is_terminal()) bar.emplace(stderr, args.epochs, terminal_speaks_utf8());
  TrainHooks hooks;
  hooks.on_epoch = [&](const EpochReport& report) {
    seconds += report.seconds;
    last = report;
    if (bar) bar->clear();
    human << epoch_line(report, args.epochs) << std::endl;
    if (json) std::cout << epoch_json(report, args.epochs).dump() << std::endl;
    recorder.add_epoch(report);
  };
  if (bar) hooks.on_step = [&](const StepProgress& progress) { bar->update(progress); };
  hooks.stop_requested = [&] { return signals.requested(); };
  if (!plan.stop_path.empty()) {
    hooks.on_snapshot = [&](const TrainSnapshot& snapshot) {
      if (root)
        save_checkpoint(plan.stop_path, {snapshot, options, args.limit, identity, backend->name(), recorder.history(),
                                         args.val_split});
      checkpoint_step = snapshot.position.step;
    };
  }

  TrainResult result;
  try {
    result = train(*backend, data.train, data.test ? &*data.test : nullptr, options, hooks, start,
                   resumed ? resumed->state.best_parameters : std::vector<float>{});
  } catch (const TrainingDiverged& e) {
    // Say what is still safe on disk: nothing was written after the guard fired.
    std::string safe;
    if (checkpoint_step >= 0)
      safe = "; the last checkpoint, " + plan.stop_path + " (step " + std::to_string(checkpoint_step) + "), is intact";
    else if (resumed)
      safe = "; the checkpoint " + args.resume + " is intact";
    if (!args.out.empty()) safe += "; --out " + args.out + " was not written";
    throw TrainingDiverged(e.what() + safe, e.step());
  }
  if (bar) bar->clear();
  if (result.stopped)
    return report_stop(args, result, plan, cannot_checkpoint, signals, comm, data.train.count, json);

  if (result.stopped_early) human << early_stop_text(args, result) << "\n";
  // --keep best: the best validation epoch's weights become the model that is saved and summarised.
  const bool kept_best = options.keep_best && result.position.best_epoch > 0;
  if (kept_best) {
    Model best = backend->model();
    best.parameters = result.best_parameters;
    backend->set_model(best, options.optimizer);
  }
  if (root && !args.out.empty()) {
    // The recipe: how the weights came to be, not where this process put them or started from, so that
    // a resumed run writes the file an uninterrupted one writes.
    nlohmann::ordered_json recipe = run_settings(args, options.schedule, model, *backend, data);
    recipe.erase("resumed from");
    recipe.erase("model file");
    if (data.validation) recipe["saved epoch"] = kept_best ? result.position.best_epoch : result.position.epoch;
    // Of the weights saved (`cudamlp serve` shows it): a function of the weights, so a resumed run records
    // what an uninterrupted one does.
    if (data.test) recipe["test accuracy"] = evaluate(*backend, *data.test).accuracy();
    save_model(args.out, backend->model(), recipe.dump());
    human << "saved " << args.out << saved_epoch_text(args, result, kept_best) << "\n";
  }
  recorder.finish(*backend, data.test ? &*data.test : nullptr, data.validation ? &*data.validation : nullptr);
  if (!args.log.empty()) human << "wrote the run log " << args.log << "\n";
  if (!args.report.empty()) human << "wrote the report " << args.report << "\n";
  if (json) {
    nlohmann::json done = done_json(args, options.schedule, model, *backend, data.train.count, seconds, last);
    if (data.validation) {
      done["stopped_early"] = result.stopped_early;
      done["best_epoch"] = result.position.best_epoch;
      done["keep"] = args.keep;
      done["saved_epoch"] = kept_best ? result.position.best_epoch : result.position.epoch;
    }
    std::cout << done.dump() << std::endl;
  }
  return 0;
}

// With --json, the last line on stdout of a run that ended in an error: {"event": "diverged", "step": N,
// "error": ...} or {"event": "failed", "exit_code": 1 or 2, "error": ...}, so that a script reading the
// JSON lines learns how every run ended ("done" and "stopped" come from train_as).
void print_error_event(const std::exception_ptr& error) {
  nlohmann::json event;
  try {
    std::rethrow_exception(error);
  } catch (const TrainingDiverged& e) {
    event = {{"event", "diverged"}, {"step", e.step()}, {"error", one_line(e.what())}};
  } catch (const UsageError& e) {
    event = {{"event", "failed"}, {"exit_code", 2}, {"error", one_line(e.what())}};
  } catch (const std::bad_alloc&) {
    event = {{"event", "failed"}, {"exit_code", 1}, {"error", "out of memory"}};
  } catch (const std::exception& e) {
    event = {{"event", "failed"}, {"exit_code", 1}, {"error", one_line(e.what())}};
  }
  std::cout << event.dump() << std::endl;
}

int run_train(const TrainArgs& args) {
  return run_maybe_distributed(args.dist, [&](Communicator* comm) {
    try {
      return train_as(args, comm);
    } catch (...) {
      if (args.json && (comm == nullptr || comm->rank() == 0)) print_error_event(std::current_exception());
      throw;
    }
  });
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* app = parent.add_subcommand("train", "Train an MLP with minibatch SGD and save it");
  auto* data = app->add_option("--data", args->data_dir,
                               "Folder with the four MNIST-named IDX files (plain or .gz)")
                   ->check(kReadableDirectory);
  auto* csv = app->add_option("--train-csv", args->train_csv, "Kaggle digit-recognizer train.csv")
                  ->check(kReadableFile);
  auto* npy = app->add_option("--train-npy", args->train_npy,
                              "NumPy training set: features [N, D] or [N, H, W] (uint8 pixels, scaled by 1/255, or "
                              "float32, used as given) and integer labels [N], as FEATURES.npy,LABELS.npy")
                  ->check(kNpyPair);
  app->add_option("--test-npy", args->test_npy,
                  "NumPy test set for --train-npy, FEATURES.npy,LABELS.npy: evaluated every epoch")
      ->check(kNpyPair)
      ->needs(npy);
  data->excludes(csv, npy);
  csv->excludes(data, npy);
  npy->excludes(data, csv);
  app->callback([data, csv, npy] {
    if (data->count() + csv->count() + npy->count() == 0)
      throw CLI::RequiredError("--data, --train-csv or --train-npy");
  });
  args->hidden_option =
      app->add_option("--hidden", args->hidden, "Hidden layer sizes, e.g. 128,64 (\"none\": no hidden layer)")
          ->capture_default_str();
  app->add_option("--epochs", args->epochs, "Passes over the training set")
      ->check(run_limit(epochs_problem))->capture_default_str();
  app->add_option("--batch", args->batch, "Minibatch size (the last partial batch is trained too)")
      ->check(run_limit(batch_problem))->capture_default_str();
  app->add_option("--lr", args->lr, "Learning rate")->check(kLearningRate)->capture_default_str();
  app->add_option("--optimizer", args->optimizer, "sgd, adam or adamw: PyTorch's torch.optim rules")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  app->add_option("--momentum", args->hyper.momentum, "SGD momentum (PyTorch's: v = m*v + g; w -= lr*v)")
      ->check(kMomentumRange)->capture_default_str();
  app->add_option("--dropout", args->dropout,
                  "Inverted dropout: while training, zero each hidden unit with probability P (after its ReLU) "
                  "and scale the others by 1/(1-P); never in evaluation or predict")
      ->check(kDropoutRange)->capture_default_str();
  app->add_flag("--nesterov", args->hyper.nesterov, "SGD with Nesterov momentum (needs --momentum)");
  const auto hyper = [&](const char* name) {
    for (const HyperParameter& h : hyper_parameters(OptimizerKind::kAdam))
      if (h.name == std::string(name)) return hyper_parameter_check(h);
    return hyper_parameter_check(hyper_parameters(OptimizerKind::kSgd).front());
  };
  app->add_option("--beta1", args->hyper.beta1, "Adam(W): decay rate of the gradient's mean")
      ->check(hyper("beta1"))->capture_default_str();
  app->add_option("--beta2", args->hyper.beta2, "Adam(W): decay rate of the gradient's square")
      ->check(hyper("beta2"))->capture_default_str();
  app->add_option("--eps", args->hyper.eps, "Adam(W): added to the root of the square's mean")
      ->check(hyper("eps"))->capture_default_str();
  app->add_option("--weight-decay", args->hyper.weight_decay,
                  "Weight decay on the weights, never the biases: added to the gradient (sgd, adam) or "
                  "decoupled, w -= lr*wd*w (adamw)")
      ->check(hyper("weight_decay"))->capture_default_str();
  app->add_option("--lr-schedule", args->lr_schedule,
                  "The learning rate per step: constant, step (--lr-step), cosine or linear (to --lr-min)")
      ->check(CLI::IsMember({"constant", "step", "cosine", "linear"}))
      ->capture_default_str();
  app->add_option("--warmup", args->warmup,
                  "Warm-up: the learning rate rises linearly from lr/N to lr over the first N steps (N, "
                  "Nsteps or Nepochs)")
      ->capture_default_str();
  app->add_option("--lr-min", args->lr_min, "The last learning rate of --lr-schedule cosine or linear")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app->add_option("--lr-step", args->lr_step, "E,G: --lr-schedule step multiplies the learning rate by G every E epochs");
  add_augmentation_options(*app, args->augmentation);
  app->add_option("--seed", args->seed, "Seed of the initial weights and the per-epoch shuffles")
      ->check(kSeedText)
      ->capture_default_str();
  add_device_options(*app, args->device, args->backend);
  add_distributed_options(*app, args->dist);
  app->add_option("--out", args->out,
                  "Write the trained model here (safetensors); it may be --init's file, which is then updated");
  auto* init = app->add_option("--init", args->init, "Start from this model file instead of random weights")
                   ->check(kReadableFile);
  app->add_option("--checkpoint", args->checkpoint,
                  "Write the training state here (atomically), every --checkpoint-every and on Ctrl-C; "
                  "by default an interrupted run saves itself next to --out (NAME.ckpt.safetensors)");
  app->add_option("--checkpoint-every", args->checkpoint_every,
                  "How often to write --checkpoint: N or Nsteps (optimizer steps), Nepochs [1epoch]")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            CheckpointPlan plan;
            try {
              parse_checkpoint_every(text, plan);
            } catch (const UsageError&) {
              return "expected a positive count of steps or epochs, like 500, 500steps or 1epoch; got '" + text + "'";
            }
            return {};
          },
          "N[steps|epochs]"));
  app->add_option("--resume", args->resume,
                  "Continue the run saved in this checkpoint, exactly; flags left out take its values")
      ->check(kReadableFile)
      ->excludes(init);
  app->add_flag("--no-shuffle", args->no_shuffle, "Visit the samples in file order every epoch");
  app->add_option("--limit", args->limit, "Train on the first N samples only")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  app->add_flag("--json", args->json, "One JSON object per epoch on stdout, and a last one for how the run ended: done, stopped, diverged or failed (once the flags parse)");
  app->add_option("--val-split", args->val_split,
                  "Hold out this fraction of the training set (drawn by --seed) as a validation set, evaluated "
                  "every epoch; the test set is still reported")
      ->check(kOpenUnitInterval);
  app->add_option("--early-stop", args->early_stop,
                  "Stop when the validation accuracy has not improved for N epochs (needs --val-split; 0: off)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  app->add_option("--keep", args->keep,
                  "Which weights --out gets: best (the best validation epoch's; needs --val-split) or last")
      ->check(CLI::IsMember({"best", "last"}))
      ->capture_default_str();
  app->add_option("--log", args->log,
                  "Write the run log here (JSON, rewritten after every epoch): settings, metrics per epoch, the "
                  "final confusion matrix and misclassified digits; `cudamlp report` makes it a report");
  app->add_option("--report", args->report,
                  "Write the HTML training report here (rewritten after every epoch): curves, confusion matrix, "
                  "misclassified digits, settings");
  args->app = app;
  return {app, [args] { return run_train(*args); }};
}

}  // namespace cudamlp::cli
