// Pieces the cudamlp subcommands share: flag parsing and checks, data loading by flag, formatting.
#pragma once

#include <CLI/CLI.hpp>

#include <exception>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "format.h"
#include "cudamlp/backend.h"
#include "cudamlp/communicator.h"
#include "cudamlp/dataset.h"

namespace cudamlp::cli {

// A subcommand: its CLI11 app and what to run when it was the one given. run() returns the exit code;
// failures are thrown (UsageError -> exit 2, other errors -> exit 1, decided in main.cpp).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_train_command(CLI::App& parent);
Command add_eval_command(CLI::App& parent);
Command add_predict_command(CLI::App& parent);
Command add_info_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_report_command(CLI::App& parent);
Command add_serve_command(CLI::App& parent);
Command add_verify_command(CLI::App& parent);

// --threads N of the commands that compute: OpenMP/BLAS threads of the cpu backend, 0 (the default)
// meaning OMP_NUM_THREADS when set, else all cores. Values below 1 are usage errors.
CLI::Option* add_threads_option(CLI::App& app, int& threads);

// --device (reference, cpu, gpu, gpu-emulated, auto), --threads, and the gpu backend's --gemm and --tf32.
// with_threads false: no --threads (`serve`, whose --threads are its HTTP workers).
void add_device_options(CLI::App& app, std::string& device, BackendOptions& options, bool with_threads = true);

// --distributed and --dist-timeout: train data-parallel with the ranks mpirun started.
struct DistributedOptions {
  bool enabled = false;
  double timeout_seconds = 300;  // how long a rank waits for the others in a collective
};
void add_distributed_options(CLI::App& app, DistributedOptions& options);

// Runs body alone (a null communicator) or, with options.enabled, as one rank of mpirun's (MPI started
// here and finished when body returns). An error on a rank of several is printed here, naming the rank,
// and ends all of them at once (Communicator::abort with the error's exit code): the others must not
// wait for a rank that is gone.
int run_maybe_distributed(const DistributedOptions& options, const std::function<int(Communicator*)>& body);

// An error message as one line: control characters that came from a file (a tensor named "a\nb") are
// escaped, so that every error stays exactly one line on stderr.
std::string one_line(const char* message);

// Prints the one-line error message of an exception thrown by a command, after `prefix` ("rank 1: "),
// and returns its exit code: 2 for a UsageError, 1 for any other.
int report_error(const std::exception_ptr& error, const std::string& prefix = "");

// "128,64" -> {128, 64}; "" or "none" -> {} (no hidden layer). Throws UsageError naming --hidden.
std::vector<int> parse_hidden(const std::string& text);

// Throws UsageError naming flag unless path could be created or replaced: not a folder, a device or a
// FIFO, a name its folder can hold, and its folder exists and is writable. Checked before training so a
// long run does not end in a failed save.
void check_output_path(const std::string& flag, const std::string& path);

// A file a command reads or writes, with the flag that named it (for messages).
struct NamedFile {
  std::string flag;  // "--out", "--data"
  std::string path;
};

// Whether a and b name the same file, however spelled: for files that exist, their identity (device and
// inode: symlinks, "./", ".." and hard links all count); otherwise the same canonical path.
bool same_file(const std::string& a, const std::string& b);

// Throws UsageError when an output names the same file as an input (it would be destroyed) or as another
// output. Empty paths are skipped. Checked before any work.
void check_outputs_apart(const std::vector<NamedFile>& outputs, const std::vector<NamedFile>& inputs);

// The files `--data DIR` may read: the four MNIST-named IDX files, plain and .gz, present or not (a
// plain file written there would be read instead of its .gz).
std::vector<NamedFile> mnist_folder_inputs(const std::string& flag, const std::string& dir);

// Validators for numeric flags. Each checks the value in the precision the library uses it in: the
// learning rate and the momentum are float32, so a value that float32 cannot hold (1e39), or rounds to
// 0 or to a subnormal (1e-320, 1e-45), or out of the range (0.99999999 is 1.0f) is refused as given.
extern const CLI::Validator kLearningRate;      // learning_rate_problem (run_limits.h), as a float32
// A hyper-parameter's range (optimizer.h) as a flag's check, in float32 as it is used.
CLI::Validator hyper_parameter_check(const HyperParameter& hyper);
extern const CLI::Validator kMomentumRange;     // SGD's momentum hyper-parameter (optimizer.h), as a float32
extern const CLI::Validator kOpenUnitInterval;  // (0, 1): a fraction that leaves something on both sides
extern const CLI::Validator kDropoutRange;      // --dropout's P: [0, 1) as a float32 (regularization.h)
// A count of seconds in (0, most]: the bound keeps the messages' and the loops' conversions to
// integers defined.
CLI::Validator seconds_up_to(double most);
// An integer flag within one of the run limits (run_limits.h: epochs_problem, batch_problem): the very
// check the checkpoint reader makes of the same value.
CLI::Validator run_limit(std::string (*problem)(int64_t));
// Validators for input paths: like CLI::ExistingFile / ExistingDirectory, and also readable by this
// process (a folder: listable and searchable), so that an unreadable input is a usage error up front.
// A seed: a plain decimal integer in [0, 2^64) (CLI11 alone would wrap -1 to 2^64 - 1).
extern const CLI::Validator kSeedText;
extern const CLI::Validator kReadableFile;
extern const CLI::Validator kReadableDirectory;

// "784-128-64-10"
std::string join_sizes(const std::vector<int>& sizes, const char* separator = "-");


// `--train-npy X.npy,y.npy` and `--test-npy`: a features file and a labels file (npy.h), split at the
// comma. The validator checks that there are two and that each is a readable file, naming the flag.
struct NpyPair {
  std::string features, labels;
};
NpyPair split_npy_pair(const std::string& value);
extern const CLI::Validator kNpyPair;
// The pair as a labelled dataset (num_classes 0: from the labels); a FileError names the flag and the file.
Dataset load_npy_flag(const std::string& flag, const std::string& value, int num_classes);
// The two files of a pair flag, for the checks that keep outputs off the inputs (none when value is "").
std::vector<NamedFile> npy_pair_inputs(const std::string& flag, const std::string& value);

// Where `train` reads its data: exactly one of data_dir, train_csv and train_npy is non-empty; test_npy
// only with train_npy.
struct DataSources {
  std::string data_dir;   // --data: the four MNIST-named IDX files, train and test
  std::string train_csv;  // --train-csv: a labelled Kaggle train.csv, train only
  std::string train_npy;  // --train-npy X.npy,y.npy
  std::string test_npy;   // --test-npy X.npy,y.npy: its labels must be classes of the training set's
  // The flag and value that named the training data, for messages: "--data data/mnist".
  std::string train_flag() const;
};

// The training and test sets named by the sources.
struct LabelledData {
  Dataset train;
  std::optional<Dataset> test;
  std::optional<Dataset> validation;  // `train --val-split`: held out of the training set
};
LabelledData load_labelled_data(const DataSources& sources);

}  // namespace cudamlp::cli
