// Shared pieces of the cudamlp subcommands; see cli_common.h.
#include "cli_common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cfloat>
#include <charconv>
#include <climits>
#include <cmath>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <new>

#include "cudamlp/errors.h"
#include "cudamlp/npy.h"
#include "cudamlp/model.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/run_limits.h"

namespace cudamlp::cli {

namespace fs = std::filesystem;

std::vector<int> parse_hidden(const std::string& text) {
  std::vector<int> sizes;
  if (text.empty() || text == "none") return sizes;
  const char* p = text.data();
  const char* end = p + text.size();
  while (true) {
    int size = 0;
    const auto [next, ec] = std::from_chars(p, end, size);
    if (ec != std::errc() || (next != end && *next != ','))
      throw UsageError("--hidden " + text + ": expected layer sizes separated by commas, like 128,64");
    if (size < 1 || size > kMaxLayerSize)
      throw UsageError("--hidden " + text + ": layer size " + std::to_string(size) + " is outside [1, " +
                       std::to_string(kMaxLayerSize) + "]");
    sizes.push_back(size);
    if (next == end) break;
    p = next + 1;
  }
  return sizes;
}

void check_output_path(const std::string& flag, const std::string& path) {
  if (path.empty()) throw UsageError(flag + ": empty file name");
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) throw UsageError(flag + " " + path + ": is a folder, expected a file name");
  // Writing replaces the file: a device or a FIFO (as root, /dev/full) would become a regular file.
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode))
    throw UsageError(flag + " " + path + ": exists and is not a regular file (a device or a FIFO); give a file name");
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec))
    throw UsageError(flag + " " + path + ": folder " + folder.string() + " does not exist");
  if (access(folder.c_str(), W_OK) != 0)
    throw UsageError(flag + " " + path + ": folder " + folder.string() + " is not writable");
  // A name the folder cannot hold would only fail when written, after the training.
  const long name_max = ::pathconf(folder.c_str(), _PC_NAME_MAX);
  const std::string name = target.filename().string();
  if (name_max > 0 && long(name.size()) > name_max)
    throw UsageError(flag + ": the file name is " + std::to_string(name.size()) + " bytes long; its folder takes at most " +
                     std::to_string(name_max));
  if (path.size() >= PATH_MAX)
    throw UsageError(flag + ": the path is " + std::to_string(path.size()) + " bytes long; at most " +
                     std::to_string(PATH_MAX - 1) + " can be opened");
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  const bool a_exists = ::stat(a.c_str(), &sa) == 0, b_exists = ::stat(b.c_str(), &sb) == 0;
  if (a_exists && b_exists) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (a_exists != b_exists) return false;
  std::error_code ec_a, ec_b;
  const fs::path canonical_a = fs::weakly_canonical(fs::absolute(a, ec_a), ec_a);
  const fs::path canonical_b = fs::weakly_canonical(fs::absolute(b, ec_b), ec_b);
  return !ec_a && !ec_b && canonical_a == canonical_b;
}

void check_outputs_apart(const std::vector<NamedFile>& outputs, const std::vector<NamedFile>& inputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    const NamedFile& out = outputs[o];
    if (out.path.empty()) continue;
    for (const NamedFile& in : inputs)
      if (!in.path.empty() && same_file(out.path, in.path))
        throw UsageError(out.flag + " " + out.path + " is " + in.flag + "'s " + in.path +
                         ": writing it would destroy an input; write elsewhere");
    for (size_t p = o + 1; p < outputs.size(); ++p)
      if (!outputs[p].path.empty() && same_file(out.path, outputs[p].path))
        throw UsageError(outputs[p].flag + " " + outputs[p].path + " and " + out.flag + " " + out.path +
                         " name the same file");
  }
}

std::vector<NamedFile> mnist_folder_inputs(const std::string& flag, const std::string& dir) {
  std::vector<NamedFile> files;
  if (dir.empty()) return files;
  for (const std::string& path : mnist_dir_paths(dir)) files.push_back({flag, path});
  return files;
}

namespace {

// What stops `value`, parsed from `text`, from being used as a float32: beyond its range, or a nonzero
// value that it rounds to 0 or to a subnormal (kept with fewer digits, and flushed to zero by some
// backends). "" when float(value) is what was asked for, to float32's precision.
std::string float32_problem(const std::string& text, double value) {
  if (!std::isfinite(value) || std::fabs(value) > FLT_MAX)
    return text + " is beyond float32's range (" + format("%g", FLT_MAX) + " at most), the precision it is used in";
  const float rounded = float(value);
  if (value != 0 && rounded == 0) return text + " rounds to 0 in float32, the precision it is used in";
  if (value != 0 && std::fabs(rounded) < FLT_MIN)
    return text + " rounds to a float32 subnormal (below " + format("%g", FLT_MIN) +
           "), the precision it is used in, where it keeps only part of its digits";
  return "";
}

}  // namespace

const CLI::Validator kLearningRate(
    [](std::string& text) -> std::string {
      double value = 0;
      if (!CLI::detail::lexical_cast(text, value) || !(value > 0))
        return "must be a positive finite number, got " + text;
      if (std::string problem = float32_problem(text, value); !problem.empty()) return problem;
      if (std::string problem = learning_rate_problem(float(value)); !problem.empty()) return text + " " + problem;
      return {};
    },
    "POSITIVE");

CLI::Validator seconds_up_to(double most) {
  return CLI::Validator(
      [most](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value) || value <= 0 || value > most)
          return "must be a number of seconds in (0, " + format("%g", most) + "], got " + text;
        return {};
      },
      "SECONDS");
}

CLI::Validator run_limit(std::string (*problem)(int64_t)) {
  return CLI::Validator(
      [problem](std::string& text) -> std::string {
        int64_t value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "must be an integer, got " + text;
        if (std::string why = problem(value); !why.empty()) return why + ", got " + text;
        return {};
      },
      "INT");
}

const CLI::Validator kSeedText(
    [](std::string& text) -> std::string {
      uint64_t value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return "must be an integer in [0, 18446744073709551615], got '" + text + "'";
      return {};
    },
    "UINT64");

const CLI::Validator kReadableFile(
    [](std::string& path) -> std::string {
      std::error_code ec;
      if (!fs::exists(path, ec)) return "file does not exist: " + path;
      if (fs::is_directory(path, ec)) return path + " is a folder, expected a file";
      // open() rather than access(): it answers for this process's effective rights.
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return path + " cannot be read: " + std::strerror(errno);
      ::close(fd);
      return {};
    },
    "FILE");

const CLI::Validator kReadableDirectory(
    [](std::string& path) -> std::string {
      std::error_code ec;
      if (!fs::is_directory(path, ec)) return "folder does not exist: " + path;
      const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return "folder " + path + " cannot be read: " + std::strerror(errno);
      ::close(fd);
      if (::access(path.c_str(), X_OK) != 0) return "folder " + path + " cannot be entered: " + std::strerror(errno);
      return {};
    },
    "DIR");

const CLI::Validator kDropoutRange(
    [](std::string& text) -> std::string {
      double value = 0;
      if (!CLI::detail::lexical_cast(text, value) || !(value >= 0 && value < 1))
        return "must be in [0, 1) (the probability of dropping a hidden unit), got " + text;
      if (std::string problem = float32_problem(text, value); !problem.empty()) return problem;
      if (!(float(value) < 1.0f))
        return text + " rounds to 1 in float32, the precision it is used in; it must be below 1";
      return {};
    },
    "[0,1)");

CLI::Validator hyper_parameter_check(const HyperParameter& hyper) {
  return CLI::Validator(
      [hyper](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value))
          return std::string("must be a number in ") + hyper.range + ", got " + text;
        if (std::string problem = float32_problem(text, value); !problem.empty()) return problem;
        if (!hyper.valid(float(value)))
          return double(float(value)) != value
                     ? text + " rounds to " + format("%.9g", double(float(value))) +
                           " in float32, the precision it is used in; it must be in " + hyper.range
                     : std::string("must be in ") + hyper.range + ", got " + text;
        return {};
      },
      hyper.range);
}

const CLI::Validator kMomentumRange = hyper_parameter_check(hyper_parameters(OptimizerKind::kSgd).front());

const CLI::Validator kOpenUnitInterval(
    [](std::string& text) -> std::string {
      double value = 0;
      if (!CLI::detail::lexical_cast(text, value) || !(value > 0 && value < 1))
        return "must be a fraction in (0, 1), got " + text;
      return {};
    },
    "(0,1)");

CLI::Option* add_threads_option(CLI::App& app, int& threads) {
  return app.add_option("--threads", threads, "CPU threads of the cpu backend [default: all cores]")
      ->check(CLI::Range(1, 4096));
}

void add_device_options(CLI::App& app, std::string& device, BackendOptions& options, bool with_threads) {
  app.add_option("--device", device,
                 "reference, cpu, gpu, gpu-emulated (the GPU code on the CPU's SIMT emulator: slow) or auto "
                 "(gpu if usable, else cpu)")
      ->check(CLI::IsMember({"reference", "cpu", "gpu", "gpu-emulated", "auto"}))
      ->capture_default_str();
  if (with_threads) add_threads_option(app, options.threads);
  app.add_option("--gemm", options.gemm,
                 "gpu matrix products: custom (our fused kernels), cublas, or auto (custom for small layers)")
      ->check(CLI::IsMember({"custom", "cublas", "auto"}))
      ->capture_default_str();
  app.add_flag("--tf32", options.tf32, "cuBLAS on TF32 tensor cores (10-bit mantissa inputs; default: FP32)");
  app.add_flag("--no-cuda-graph", [&options](int64_t) { options.cuda_graphs = false; },
               "gpu: launch each op of the training step instead of replaying it as a CUDA graph");
}

void add_distributed_options(CLI::App& app, DistributedOptions& options) {
  app.add_flag("--distributed", options.enabled,
               "Train data-parallel with the ranks of `mpirun -np N`: each rank trains its shard of every batch, "
               "gradients are summed with MPI (cpu, reference) or NCCL (gpu); rank 0 alone writes and prints");
  app.add_option("--dist-timeout", options.timeout_seconds,
                 "With --distributed: seconds a rank waits for the others before it gives up (a rank died or hangs)")
      ->check(seconds_up_to(kMaxDistTimeoutSeconds))
      ->capture_default_str();
}

std::string one_line(const char* message) {
  std::string line;
  for (const char* p = message; *p != '\0'; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != 0x7f) {
      line += *p;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      line += escaped;
    }
  }
  return line;
}

int report_error(const std::exception_ptr& error, const std::string& prefix) {
  try {
    std::rethrow_exception(error);
  } catch (const UsageError& e) {
    std::cerr << "cudamlp: error: " << prefix << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "cudamlp: error: " << prefix << "out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "cudamlp: error: " << prefix << one_line(e.what()) << "\n";
    return 1;
  }
}

int run_maybe_distributed(const DistributedOptions& options, const std::function<int(Communicator*)>& body) {
  if (!options.enabled) return body(nullptr);
  // A collective that waits too long ends this rank with the error; mpirun then ends the others.
  int rank = 0, ranks = 1;
  std::unique_ptr<Communicator> comm = start_distributed(options.timeout_seconds, [&](const std::string& message) {
    std::cerr << "cudamlp: error: rank " << rank << " of " << ranks << ": " << message << std::endl;
    std::_Exit(1);
  });
  rank = comm->rank();
  ranks = comm->size();
  if (comm->size() == 1) return body(comm.get());  // alone: errors go the usual way
  try {
    return body(comm.get());
  } catch (...) {
    const int exit_code = report_error(std::current_exception(), "rank " + std::to_string(comm->rank()) + " of " +
                                                                     std::to_string(comm->size()) + ": ");
    std::cerr.flush();
    comm->abort(exit_code);
  }
  return 1;  // not reached: abort() ends the process
}

NpyPair split_npy_pair(const std::string& value) {
  const size_t comma = value.find(',');
  if (comma == std::string::npos || comma == 0 || comma + 1 == value.size() ||
      value.find(',', comma + 1) != std::string::npos)
    return {};
  return {value.substr(0, comma), value.substr(comma + 1)};
}

const CLI::Validator kNpyPair(
    [](std::string& value) -> std::string {
      const NpyPair pair = split_npy_pair(value);
      if (pair.features.empty()) return "expected FEATURES.npy,LABELS.npy (two files, one comma), got " + value;
      for (std::string path : {pair.features, pair.labels}) {
        const std::string problem = kReadableFile(path);
        if (!problem.empty()) return problem;
      }
      return {};
    },
    "X.npy,y.npy");

Dataset load_npy_flag(const std::string& flag, const std::string& value, int num_classes) {
  const NpyPair pair = split_npy_pair(value);
  if (pair.features.empty()) throw UsageError(flag + " " + value + ": expected FEATURES.npy,LABELS.npy");
  try {
    return load_npy(pair.features, pair.labels, num_classes);
  } catch (const FileError& e) {
    throw FileError(flag, e.what());
  }
}

std::vector<NamedFile> npy_pair_inputs(const std::string& flag, const std::string& value) {
  if (value.empty()) return {};
  const NpyPair pair = split_npy_pair(value);
  return {{flag, pair.features}, {flag, pair.labels}};
}

std::string DataSources::train_flag() const {
  if (!data_dir.empty()) return "--data " + data_dir;
  if (!train_csv.empty()) return "--train-csv " + train_csv;
  return "--train-npy " + train_npy;
}

LabelledData load_labelled_data(const DataSources& sources) {
  LabelledData data;
  if (!sources.data_dir.empty()) {
    TrainTestSplit split = load_mnist_dir(sources.data_dir);
    data.train = std::move(split.train);
    data.test = std::move(split.test);
  } else if (!sources.train_csv.empty()) {
    data.train = load_kaggle_csv(sources.train_csv);
    if (!data.train.has_labels())
      throw UsageError(sources.train_csv + ": has no label column (a Kaggle test.csv?); training needs train.csv");
  } else {
    data.train = load_npy_flag("--train-npy", sources.train_npy, 0);
    if (!sources.test_npy.empty()) {
      data.test = load_npy_flag("--test-npy", sources.test_npy, data.train.num_classes);
      if (data.test->dim() != data.train.dim() || data.test->input_scale != data.train.input_scale)
        throw UsageError("--test-npy " + sources.test_npy + ": its samples are " + std::to_string(data.test->dim()) +
                         " " + std::string(input_kind_name(data.test->input_scale)) + ", --train-npy's are " +
                         std::to_string(data.train.dim()) + " " + std::string(input_kind_name(data.train.input_scale)));
    }
  }
  return data;
}

std::string join_sizes(const std::vector<int>& sizes, const char* separator) {
  std::string text;
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? separator : "") + std::to_string(sizes[i]);
  return text;
}

}  // namespace cudamlp::cli
