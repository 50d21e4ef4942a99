// `cudamlp predict`: class and probabilities for samples from IDX files, Kaggle CSVs (optionally
// writing the ImageId,Label submission file), NumPy .npy features, pictures of digits (PNG, PGM: made
// into MNIST samples as MNIST was made, see mnist_digit.h) or values on stdin (pixels, or a float model's
// features). Each input is told by its first bytes
// (file_kind.h), not by its name.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "digit_display.h"
#include "format.h"
#include "cudamlp/atomic_file.h"
#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/file_kind.h"
#include "cudamlp/mnist_digit.h"
#include "cudamlp/model_file.h"
#include "cudamlp/npy.h"
#include "cudamlp/trainer.h"

namespace cudamlp::cli {

namespace {

struct PredictArgs {
  std::vector<std::string> inputs;
  std::string model;
  int64_t index = -1;  // -1: every sample
  std::string out;
  std::string device = "auto";
  BackendOptions backend;  // --threads, --gemm, --tf32
  bool json = false;
  bool show = false;  // also print (or with --json, include) the 28x28 pixels each prediction was made from
};


// Whether the name says picture: .png or .pgm in any case. Only a hint for the message about a text file
// so named; what a file is, its first bytes say.
bool named_as_picture(const std::string& path) {
  if (path.size() < 4) return false;
  std::string extension = path.substr(path.size() - 4);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return extension == ".png" || extension == ".pgm";
}

// One input file, read: its samples, and for a picture what the preprocessing found.
struct Input {
  std::string path;
  Dataset data;
  std::optional<MnistDigit> digit;  // a picture: data is its one 28x28 sample
  FileKind kind = FileKind::kUnknown;  // as its first bytes say
};

// Values (whitespace or comma separated) from stdin: one sample per D values. For a model of pixels
// (kPixel255) they are pixel values in [0, 255], scaled as scale_pixel; for a model of float features
// (kNone) any float32 values, used as given.
std::vector<float> read_stdin_samples(int64_t D, InputScale scale) {
  const bool pixels = scale == InputScale::kPixel255;
  std::vector<float> x;
  std::string token;
  std::istreambuf_iterator<char> it(std::cin), end;
  auto flush = [&] {
    if (token.empty()) return;
    size_t used = 0;
    double value = NAN;
    try {
      value = std::stod(token, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (pixels && (used != token.size() || !std::isfinite(value) || value < 0 || value > 255))
      throw UsageError("stdin: value " + std::to_string(x.size() + 1) + " " + quoted_excerpt(token) +
                       " is not a pixel value in [0, 255]");
    if (!pixels && (used != token.size() || !std::isfinite(float(value))))
      throw UsageError("stdin: value " + std::to_string(x.size() + 1) + " " + quoted_excerpt(token) +
                       " is not a finite float32 feature");
    x.push_back(pixels ? float(value) / 255.0f : float(value));  // as scale_pixel, for non-integer values too
    token.clear();
  };
  for (; it != end; ++it) {
    const char c = *it;
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      flush();
    } else {
      token += c;
    }
  }
  flush();
  if (x.empty() || x.size() % size_t(D) != 0)
    throw UsageError("stdin: read " + std::to_string(x.size()) + " values, expected a non-zero multiple of " +
                     std::to_string(D) + " (one sample = " + std::to_string(D) +
                     (pixels ? " pixel values 0..255)" : " float32 features)"));
  return x;
}

int argmax(const float* row, int C) { return int(std::max_element(row, row + C) - row); }

// extra: fields added to the JSON object (--show's pixels, a picture's polarity).
void print_prediction(const std::string& source, int64_t index, const float* probs, int C, bool json,
                      const nlohmann::json& extra = nlohmann::json::object()) {
  const int predicted = argmax(probs, C);
  if (json) {
    nlohmann::json object = {{"input", source},
                             {"index", index},
                             {"predicted", predicted},
                             {"probabilities", std::vector<float>(probs, probs + C)}};
    object.update(extra);
    std::cout << object.dump() << "\n";
    return;
  }
  std::string line = format("%s[%lld]: %d (%.2f%%)  probabilities", source.c_str(), (long long)index, predicted,
                            100.0 * probs[predicted]);
  for (int c = 0; c < C; ++c) line += format(" %d:%.4f", c, probs[c]);
  std::cout << line << "\n";
}

// Predicts every sample of data (or --index alone); for a CSV with --out, writes the submission file.
void predict_dataset(Backend& backend, const PredictArgs& args, const std::string& path, const Dataset& data) {
  const int C = backend.network().output_size();
  int64_t begin = 0, count = data.count;
  if (args.index >= 0) {
    if (args.index >= data.count)
      throw UsageError("--index " + std::to_string(args.index) + ": " + path + " has " +
                       std::to_string(data.count) + " samples");
    begin = args.index;
    count = 1;
  }
  if (!args.out.empty()) {
    std::string submission = "ImageId,Label\n";
    for_each_prediction_chunk(backend, data, begin, count, [&](int64_t first, int64_t size, const float* probs) {
      for (int64_t i = 0; i < size; ++i)
        submission += std::to_string(first + i + 1) + "," + std::to_string(argmax(probs + i * C, C)) + "\n";
    });
    write_file_atomically(args.out, submission);
    std::cerr << "wrote " << count << " predictions to " << args.out << "\n";
    return;
  }
  for_each_prediction_chunk(backend, data, begin, count, [&](int64_t first, int64_t size, const float* probs) {
    for (int64_t i = 0; i < size; ++i) {
      const int64_t n = first + i;
      nlohmann::json extra = nlohmann::json::object();
      if (args.show) {  // read_input refused --show for float features
        const uint8_t* pixels = data.pixels.data() + n * data.dim();
        if (args.json) extra["pixels"] = std::vector<uint8_t>(pixels, pixels + data.dim());
        else std::cout << ascii_picture(pixels, data.rows, data.cols);
      }
      print_prediction(path, n, probs + i * C, C, args.json, extra);
    }
  });
}

// A picture's prediction: a bar chart of the probabilities (after its input with --show), or one JSON
// object that also says whether the picture was inverted.
void predict_picture(Backend& backend, const PredictArgs& args, const Input& picture) {
  const int C = backend.network().output_size();
  const std::vector<float> probs = predict_probabilities(backend, picture.data, 0, 1);
  if (args.json) {
    nlohmann::json extra = {{"inverted", picture.digit->inverted}};
    if (args.show) extra["pixels"] = picture.digit->pixels;
    print_prediction(picture.path, 0, probs.data(), C, true, extra);
    return;
  }
  if (args.show) std::cout << ascii_picture(picture.digit->pixels.data(), kMnistSide, kMnistSide);
  std::cout << probability_chart(picture.path, probs.data(), C, terminal_speaks_utf8());
}

// Closes a file descriptor when it goes out of scope.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

// IDX images (plain or gzip) from bytes read from a pipe. zlib reads gzip only from a file it opens, so
// the bytes are handed to it as an anonymous memory file (memfd: no name in any folder, gone with the
// process), and its messages name the user's file instead of /proc/self/fd/N.
Dataset idx_images_from_bytes(const std::string& bytes, const std::string& path) {
  const int fd = ::memfd_create("cudamlp-input", MFD_CLOEXEC);
  if (fd < 0) throw FileError(path, std::string("cannot hold the input in memory: ") + std::strerror(errno));
  const FdCloser closer{fd};
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0) throw FileError(path, std::string("cannot hold the input in memory: ") + std::strerror(errno));
    done += size_t(wrote);
  }
  const std::string memory_file = "/proc/self/fd/" + std::to_string(fd);
  try {
    return load_idx_images(memory_file);
  } catch (const FileError& e) {
    const std::string_view message = e.what();
    if (!message.starts_with(memory_file + ": ")) throw;
    throw FileError(path, std::string(message.substr(memory_file.size() + 2)));
  }
}

// An input's samples, read by the reader its first bytes call for (never its name: a PNG named `digit`,
// a picture on /dev/stdin); anything else is named for what it is.
Dataset read_samples(const std::string& path, const InputKind& input) {
  switch (input.kind) {
    case FileKind::kText:
      if (named_as_picture(path))  // a user who named it .png meant a picture: say it is not one
        throw FileError(path, "not a PNG or PGM picture: this is a text file");
      [[fallthrough]];
    case FileKind::kUtf16Text:  // the CSV reader says what to do with it
      return input.bytes ? parse_kaggle_csv(*input.bytes, path) : load_kaggle_csv(path);
    case FileKind::kIdxImages:
    case FileKind::kGzip:
      return input.bytes ? idx_images_from_bytes(*input.bytes, path) : load_idx_images(path);
    case FileKind::kNpy:
      return input.bytes ? parse_npy_features(*input.bytes, path) : load_npy_features(path);
    case FileKind::kUnknown:
      throw FileError(path, "not a picture (PNG, PGM), IDX images (plain or gzip), a Kaggle CSV or a .npy file");
    default:
      throw FileError(path, std::string("is ") + file_kind_name(input.kind) +
                                "; predict reads pictures (PNG, PGM), IDX images (plain or gzip), Kaggle CSVs and "
                                ".npy features");
  }
}

Input read_input(const std::string& path, const PredictArgs& args, const Network& network) {
  const int64_t D = network.input_size();
  const InputKind kind = input_kind(path);
  Input input{path, {}, std::nullopt, kind.kind};
  if (kind.kind == FileKind::kPng || kind.kind == FileKind::kPgm) {
    if (D != int64_t{kMnistSide} * kMnistSide)
      throw UsageError(path + ": pictures become 28x28 = 784 pixel MNIST samples, but --model " + args.model +
                       " takes " + std::to_string(D) + " inputs");
    if (args.index > 0)
      throw UsageError("--index " + std::to_string(args.index) + ": " + path + " is one picture");
    if (network.input_scale != InputScale::kPixel255)
      throw UsageError(path + ": pictures become uint8 pixels, but --model " + args.model + " takes " +
                       std::string(input_kind_name(network.input_scale)));
    input.digit = kind.bytes ? decode_mnist_digit(*kind.bytes, path) : load_mnist_digit(path);
    input.data.count = 1;
    input.data.rows = input.data.cols = kMnistSide;
    input.data.pixels = input.digit->pixels;
    return input;
  }
  input.data = read_samples(path, kind);
  if (input.data.dim() != D)
    throw UsageError(path + ": " + std::to_string(input.data.dim()) + " values per sample, " + args.model +
                     " takes " + std::to_string(D));
  if (input.data.input_scale != network.input_scale)
    throw UsageError(path + ": holds " + std::string(input_kind_name(input.data.input_scale)) + ", --model " +
                     args.model + " takes " + std::string(input_kind_name(network.input_scale)));
  if (args.show && input.data.has_float_features())
    throw UsageError("--show draws images of uint8 pixels: " + path + " holds float32 features");
  return input;
}

int run_predict(const PredictArgs& args) {
  if (!args.out.empty()) {
    if (args.inputs.size() != 1)
      throw UsageError("--out writes a Kaggle submission: give exactly one Kaggle CSV input");
    check_output_path("--out", args.out);
    check_outputs_apart({{"--out", args.out}}, {{"--model", args.model}, {"the input", args.inputs[0]}});
  }
  if (args.index >= 0 && args.inputs.empty()) throw UsageError("--index needs an input file");
  if (args.show && args.inputs.empty())
    throw UsageError("--show needs input files (pictures, IDX or CSV), not stdin");
  std::unique_ptr<Backend> backend = make_backend(args.device, args.backend);
  const Model model = load_model(args.model);
  backend->set_model(model);
  const int64_t D = model.input_size();
  const int C = model.output_size();

  if (args.inputs.empty()) {
    const std::vector<float> x = read_stdin_samples(D, model.network.input_scale);
    const int64_t n = int64_t(x.size()) / D;
    std::vector<float> probs;  // one chunk's, as for_each_prediction_chunk holds them
    for (int64_t first = 0; first < n; first += kPredictChunk) {
      const int64_t size = std::min(kPredictChunk, n - first);
      probs.resize(size_t(size * C));
      backend->predict(x.data() + first * D, size, probs.data());
      for (int64_t i = 0; i < size; ++i) print_prediction("stdin", first + i, probs.data() + i * C, C, args.json);
    }
    return 0;
  }
  // Every input is read before anything is printed: a bad file is one error line, not half an output.
  std::vector<Input> inputs;
  for (const std::string& path : args.inputs) inputs.push_back(read_input(path, args, model.network));
  if (!args.out.empty() && inputs[0].kind != FileKind::kText)  // told by its bytes, whatever its name
    throw UsageError("--out writes a Kaggle submission: " + inputs[0].path + " is " + file_kind_name(inputs[0].kind) +
                     ", not a Kaggle CSV");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].digit) {
      predict_dataset(*backend, args, inputs[i].path, inputs[i].data);
      continue;
    }
    if (i > 0 && !args.json) std::cout << "\n";  // a blank line between pictures' charts
    predict_picture(*backend, args, inputs[i]);
  }
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& parent) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* app = parent.add_subcommand(
      "predict",
      "Predict classes: from pictures of digits (.png, .pgm), IDX image files, Kaggle CSVs, NumPy .npy features, "
      "or values on stdin (pixels 0..255, or a float model's features)");
  app->add_option("inputs", args->inputs,
                  "Pictures of one digit each (PNG, PGM), IDX images files (plain or gzip), Kaggle CSVs or .npy "
                  "features ([N, D] or [N, H, W], uint8 or float32 as the model takes), each told by its first "
                  "bytes, not its name (a pipe or /dev/stdin works too); none: read stdin")
      ->check(CLI::ExistingFile);
  app->add_option("--model", args->model, "Model file (safetensors)")->required()->check(CLI::ExistingFile);
  app->add_option("--index", args->index, "Only this sample (0-based) of the input file")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  app->add_option("--out", args->out, "With a Kaggle test.csv input: write the ImageId,Label submission here");
  add_device_options(*app, args->device, args->backend);
  app->add_flag("--json", args->json, "One JSON object per sample");
  app->add_flag("--show", args->show,
                "Also show the 28x28 input each prediction was made from: ASCII art, or \"pixels\" with "
                "--json");
  return {app, [args] { return run_predict(*args); }};
}

}  // namespace cudamlp::cli
