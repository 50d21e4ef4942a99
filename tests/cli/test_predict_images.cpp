// `cudamlp predict` on pictures: a model trained on real MNIST recognises digits the test draws itself
// (dark on white and inverted, PNG and PGM, gray, RGB and transparent), the terminal chart, --show and
// --json, and malformed pictures: one error line naming the file, exit 1, nothing printed before it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cudamlp/image.h"
#include "cudamlp/mnist_digit.h"
#include "test_helpers.h"
#include "test_pictures.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

const std::string kMnistDir = std::string(CUDAMLP_SOURCE_DIR) + "/data/mnist";

bool have_mnist() {
  return std::filesystem::exists(kMnistDir + "/train-images-idx3-ubyte") ||
         std::filesystem::exists(kMnistDir + "/train-images-idx3-ubyte.gz");
}

int count_lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> objects;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) objects.push_back(nlohmann::json::parse(line));
  return objects;
}

// The drawing as an RGBA PNG: black ink whose coverage is its alpha, on a transparent canvas.
std::string transparent_png(const GrayImage& drawing) {
  std::vector<uint16_t> rgba;
  for (uint8_t p : drawing.pixels) rgba.insert(rgba.end(), {0, 0, 0, uint16_t(255 - p)});
  return png_file(drawing.width, drawing.height, kPngRgba, 8, rgba);
}

// The drawing as an 8-bit RGB PNG in blue ink.
std::string blue_ink_png(const GrayImage& drawing) {
  std::vector<uint16_t> rgb;
  for (uint8_t p : drawing.pixels) {
    const double ink = 1.0 - p / 255.0;
    rgb.insert(rgb.end(), {uint16_t(255 - 230 * ink), uint16_t(255 - 200 * ink), uint16_t(255 - 60 * ink)});
  }
  return png_file(drawing.width, drawing.height, kPngRgb, 8, rgb);
}

class PredictPictures : public ::testing::Test {
 protected:
  // A small model that sees 784 pixels: enough for the command's behaviour, not for recognising digits.
  std::string tiny_model() {
    const std::string csv = dir.file("bands.csv"), model = dir.file("tiny.safetensors");
    write_file(csv, band_digits_csv(60, true, 1));
    const CommandResult trained = run_cli({"train", "--train-csv", csv, "--hidden", "none", "--epochs", "1",
                                           "--device", "reference", "--out", model});
    EXPECT_EQ(trained.exit_code, 0) << trained.err;
    return model;
  }
  std::string picture(const std::string& name, const std::string& bytes) {
    write_file(dir.file(name), bytes);
    return dir.file(name);
  }
  TempDir dir;
};

}  // namespace

TEST_F(PredictPictures, MnistTrainedModelRecognisesDrawnDigits) {
  if (!have_mnist()) GTEST_SKIP() << "MNIST not found in " << kMnistDir << " (run data/fetch-mnist.sh)";
  // 784-64-10 for one epoch on all 60000 training digits: about 93% on MNIST's test set.
  const std::string model = dir.file("mnist.safetensors");
  const CommandResult trained =
      run_cli({"train", "--data", kMnistDir, "--hidden", "64", "--epochs", "1", "--out", model, "--json"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_GE(json_lines(trained.out).back()["test_accuracy"].get<double>(), 0.90) << trained.out;

  // Each digit as it might come from a drawing app, a scanner or a dark-mode canvas.
  std::vector<std::pair<std::string, int>> pictures;
  for (const char digit : {'0', '1', '7'}) {
    const GrayImage drawing = drawn_digit(digit);
    const int label = digit - '0';
    const std::string name = std::string(1, digit);
    pictures.push_back({picture(name + "-on-paper.png", gray_png(drawing)), label});
    pictures.push_back({picture(name + "-inverted.png", gray_png(inverted(drawing))), label});
    pictures.push_back({picture(name + "-on-paper.pgm", pgm_file(drawing)), label});
    pictures.push_back({picture(name + "-inverted.pgm", pgm_file(inverted(drawing))), label});
    pictures.push_back({picture(name + "-transparent.png", transparent_png(drawing)), label});
    pictures.push_back({picture(name + "-blue-ink.png", blue_ink_png(drawing)), label});
  }
  std::vector<std::string> args = {"predict", "--model", model, "--json"};
  for (const auto& [path, label] : pictures) args.push_back(path);
  const CommandResult predicted = run_cli(args);
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const std::vector<nlohmann::json> results = json_lines(predicted.out);
  ASSERT_EQ(results.size(), pictures.size()) << predicted.out;
  for (size_t i = 0; i < pictures.size(); ++i) {
    SCOPED_TRACE(pictures[i].first);
    EXPECT_EQ(results[i]["input"], pictures[i].first);
    EXPECT_EQ(results[i]["predicted"], pictures[i].second) << results[i].dump();
    EXPECT_EQ(results[i]["inverted"], pictures[i].first.find("-inverted") == std::string::npos);
  }
}

TEST_F(PredictPictures, ChartShowsEveryClassAndTheWinner) {
  const std::string model = tiny_model();
  const std::string seven = picture("seven.png", gray_png(drawn_digit('7')));
  const CommandResult result = run_cli({"predict", "--model", model, seven});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_TRUE(header.starts_with(seven + ": ")) << header;
  EXPECT_NE(header.find("%)"), std::string::npos) << header;
  std::string row;
  for (int c = 0; c < 10; ++c) {
    ASSERT_TRUE(std::getline(lines, row));
    EXPECT_TRUE(row.starts_with("  " + std::to_string(c) + " ")) << row;
    EXPECT_NE(row.find('%'), std::string::npos) << row;
  }
  EXPECT_EQ(count_lines(result.out), 11);
  // The winning class has the longest bar: the text after "  c  xx.xx% " ('#'s, or block characters in a
  // UTF-8 locale; either way longer bars take more bytes).
  const int predicted = header[seven.size() + 2] - '0';
  std::istringstream again(result.out);
  std::getline(again, row);
  std::vector<size_t> bars;
  for (int c = 0; c < 10; ++c) {
    std::getline(again, row);
    bars.push_back(row.size() - std::string("  0  12.34% ").size());
  }
  EXPECT_EQ(bars[size_t(predicted)], *std::max_element(bars.begin(), bars.end())) << result.out;
}

TEST_F(PredictPictures, ShowPrintsTheInputTheNetworkSaw) {
  const std::string model = tiny_model();
  const std::string one = picture("one.pgm", pgm_file(drawn_digit('1')));
  const CommandResult shown = run_cli({"predict", "--model", model, one, "--show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  // A frame of 28 rows, two characters per pixel, then the chart.
  EXPECT_EQ(count_lines(shown.out), 30 + 11);
  const std::string frame = "+" + std::string(56, '-') + "+\n";
  EXPECT_TRUE(shown.out.starts_with(frame)) << shown.out;
  EXPECT_NE(shown.out.find("@@"), std::string::npos) << shown.out;  // full ink

  const CommandResult json = run_cli({"predict", "--model", model, one, "--show", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto object = nlohmann::json::parse(json.out);
  const std::vector<uint8_t> pixels = object["pixels"];
  EXPECT_EQ(pixels, load_mnist_digit(one).pixels);
  EXPECT_EQ(object["index"], 0);
  EXPECT_TRUE(object["inverted"].get<bool>());
}

TEST_F(PredictPictures, PicturesMixWithCsvInputsInOneCall) {
  const std::string model = tiny_model();
  const std::string csv = picture("test.csv", band_digits_csv(3, false, 9));
  const std::string zero = picture("zero.png", gray_png(drawn_digit('0')));
  const CommandResult result = run_cli({"predict", "--model", model, csv, zero, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<nlohmann::json> objects = json_lines(result.out);
  ASSERT_EQ(objects.size(), 4u);
  EXPECT_EQ(objects[2]["input"], csv);
  EXPECT_EQ(objects[3]["input"], zero);
  EXPECT_FALSE(objects[2].contains("inverted"));
}

// The probabilities predict --json prints for each sample, in order.
std::vector<std::vector<float>> probabilities(const CommandResult& result) {
  std::vector<std::vector<float>> rows;
  for (const nlohmann::json& object : json_lines(result.out)) rows.push_back(object["probabilities"]);
  return rows;
}

TEST_F(PredictPictures, InputsAreToldByTheirFirstBytesNotTheirNames) {
  const std::string model = tiny_model();
  const std::string png = gray_png(drawn_digit('7')), pgm = pgm_file(drawn_digit('1'));
  const std::string csv = band_digits_csv(3, false, 9);
  std::vector<uint8_t> pixels(3 * 784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 37 % 256);
  const std::string idx = idx_images(3, 28, 28, pixels);
  write_gzip_file(dir.file("images.gz"), idx);
  const std::string gzip = read_file(dir.file("images.gz"));
  // Each content under its own name, then under names that say nothing or say something else.
  const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> kinds = {
      {png, "seven.png", {"seven", "seven.csv", "seven.pgm"}},
      {pgm, "one.pgm", {"one", "one.dat", "one.png"}},
      {csv, "test.csv", {"test", "test.txt"}},
      {idx, "images-idx3-ubyte", {"images.csv", "images.png"}},
      {gzip, "images-idx3-ubyte.gz", {"images-gz", "images.gz.csv"}},
  };
  for (const auto& [bytes, proper, others] : kinds) {
    const CommandResult expected = run_cli({"predict", "--model", model, picture(proper, bytes), "--json"});
    ASSERT_EQ(expected.exit_code, 0) << proper << ": " << expected.err;
    for (const std::string& name : others) {
      SCOPED_TRACE(name);
      const CommandResult result = run_cli({"predict", "--model", model, picture(name, bytes), "--json"});
      EXPECT_EQ(result.exit_code, 0) << result.err;
      EXPECT_EQ(probabilities(result), probabilities(expected));
    }
  }
}

TEST_F(PredictPictures, InputsFromPipesAndFifosAreReadOnce) {
  const std::string model = tiny_model();
  std::vector<uint8_t> pixels(2 * 784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 11 % 256);
  const std::vector<std::string> files = {picture("seven.png", gray_png(drawn_digit('7'))),
                                          picture("one.pgm", pgm_file(drawn_digit('1'))),
                                          picture("test.csv", band_digits_csv(3, false, 9)),
                                          picture("images-idx3-ubyte", idx_images(2, 28, 28, pixels))};
  write_gzip_file(dir.file("images-idx3-ubyte.gz"), read_file(files.back()));
  std::vector<std::string> all = files;
  all.push_back(dir.file("images-idx3-ubyte.gz"));
  const std::string fifo = dir.file("fifo");
  for (const std::string& file : all) {
    SCOPED_TRACE(file);
    const CommandResult expected = run_cli({"predict", "--model", model, file, "--json"});
    ASSERT_EQ(expected.exit_code, 0) << expected.err;
    const std::string command = std::string(CUDAMLP_CLI) + " predict --model '" + model + "' --json";
    const CommandResult piped = run_program("sh", {"-c", "cat '" + file + "' | " + command + " /dev/stdin"});
    EXPECT_EQ(piped.exit_code, 0) << piped.err;
    EXPECT_EQ(probabilities(piped), probabilities(expected));
    const CommandResult fed = run_program(
        "sh", {"-c", "rm -f '" + fifo + "' && mkfifo '" + fifo + "' && (cat '" + file + "' > '" + fifo + "' &) && " +
                         command + " '" + fifo + "'"});
    EXPECT_EQ(fed.exit_code, 0) << fed.err;
    EXPECT_EQ(probabilities(fed), probabilities(expected));
  }
}

TEST_F(PredictPictures, MalformedPicturesAreOneLineNamingTheFileAndExitOne) {
  const std::string model = tiny_model();
  const std::string good = picture("good.png", gray_png(drawn_digit('7')));
  const std::string png = gray_png(drawn_digit('1'));
  const std::string huge_header =
      png.substr(0, 8) + png_chunk("IHDR", be32(60000) + be32(60000) + std::string("\x08\x00\x00\x00\x00", 5)) +
      png.substr(33);  // the original IDAT and IEND after the forged header
  const std::vector<std::pair<std::string, std::string>> cases = {
      {picture("truncated.png", png.substr(0, png.size() * 2 / 3)), "corrupt or truncated PNG"},
      {picture("text.png", "not a picture at all\n"), "not a PNG or PGM"},
      {picture("empty.png", ""), "empty file"},
      {picture("huge.png", huge_header), "more than the limit"},
      {picture("short.pgm", "P5 28 28 255\n\x01\x02"), "truncated PGM"},
      {picture("blank.png", gray_png(GrayImage{40, 40, std::vector<uint8_t>(1600, 255)})), "no digit found"},
  };
  for (const auto& [path, words] : cases) {
    SCOPED_TRACE(path);
    // The good picture first: still nothing on stdout, every input is read before any output.
    const CommandResult result = run_cli({"predict", "--model", model, good, path});
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_NE(result.err.find(path + ": "), std::string::npos) << result.err;
    EXPECT_NE(result.err.find(words), std::string::npos) << result.err;
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(PredictPictures, UsageErrorsExitTwo) {
  const std::string model = tiny_model();
  const std::string seven = picture("seven.png", gray_png(drawn_digit('7')));
  const std::string small_model = dir.file("small.safetensors");
  const std::string small_csv = picture("small.csv", "label,a,b,c\n1,0,5,9\n0,3,2,1\n");
  ASSERT_EQ(run_cli({"train", "--train-csv", small_csv, "--hidden", "none", "--epochs", "1", "--device",
                     "reference", "--out", small_model})
                .exit_code,
            0);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"predict", "--model", small_model, seven}, "784"},
      {{"predict", "--model", model, seven, "--index", "1"}, "--index"},
      {{"predict", "--model", model, seven, "--out", dir.file("s.csv")}, "--out"},
      {{"predict", "--model", model, dir.file("missing.png")}, "missing.png"},
  };
  for (const auto& [args, words] : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_NE(result.err.find(words), std::string::npos) << result.err;
    EXPECT_EQ(result.out, "");
  }
}
