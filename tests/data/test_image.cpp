// Reading pictures (PNG of every colour type and depth, PGM P2/P5) and turning them into MNIST samples
// as MNIST was made: the 20-pixel box, the aspect ratio, the centre of mass, the polarity. Malformed
// files of every kind are one FileError naming the file, never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "cudamlp/image.h"
#include "cudamlp/mnist_digit.h"
#include "cudamlp/rng.h"
#include "test_helpers.h"
#include "test_pictures.h"

using namespace cudamlp;
using namespace cudamlp::testing;
using namespace std::string_literals;

namespace {

// MNIST's preprocessing promises the centre of mass on pixel (14, 14) up to the whole-pixel shift.
constexpr double kHalfPixel = 0.5;

// A gradient that visits every gray level: 16 x 16, value = y * 16 + x.
GrayImage gradient() {
  GrayImage image{16, 16, std::vector<uint8_t>(256)};
  for (int i = 0; i < 256; ++i) image.pixels[size_t(i)] = uint8_t(i);
  return image;
}

GrayImage decoded(const std::string& png) { return decode_png(png, "test.png"); }

struct InkStats {
  int x0 = 28, y0 = 28, x1 = 0, y1 = 0;  // bounding box [x0, x1) x [y0, y1) of non-zero pixels
  double com_x = 0, com_y = 0;           // centre of mass, pixel indices
};

// Mean absolute difference per pixel (levels of 255) of two samples, at the best relative shift of at
// most one pixel each way: the centring's whole-pixel rounding may tip either way for near-equal inputs.
double mean_difference_up_to_one_pixel(const MnistDigit& a, const MnistDigit& b) {
  double best = 1e9;
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      double sum = 0;
      for (int y = 0; y < kMnistSide; ++y)
        for (int x = 0; x < kMnistSide; ++x) {
          const int ys = y + dy, xs = x + dx;
          const int shifted = ys < 0 || ys >= kMnistSide || xs < 0 || xs >= kMnistSide
                                  ? 0
                                  : b.pixels[size_t(ys * kMnistSide + xs)];
          sum += std::abs(int(a.pixels[size_t(y * kMnistSide + x)]) - shifted);
        }
      best = std::min(best, sum / (kMnistSide * kMnistSide));
    }
  return best;
}

InkStats ink_stats(const MnistDigit& digit) {
  InkStats s;
  double mass = 0;
  for (int y = 0; y < kMnistSide; ++y)
    for (int x = 0; x < kMnistSide; ++x) {
      const double v = digit.pixels[size_t(y * kMnistSide + x)];
      if (v == 0) continue;
      s.x0 = std::min(s.x0, x), s.y0 = std::min(s.y0, y), s.x1 = std::max(s.x1, x + 1),
      s.y1 = std::max(s.y1, y + 1);
      mass += v, s.com_x += v * x, s.com_y += v * y;
    }
  s.com_x /= mass, s.com_y /= mass;
  return s;
}

// Expects decode or load to throw a FileError whose message starts with the file's name and contains words.
template <typename Call>
void expect_file_error(Call call, const std::string& name, const std::string& words) {
  try {
    call();
    ADD_FAILURE() << name << ": no error, expected one mentioning '" << words << "'";
  } catch (const FileError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(name + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace

// --- reading ---

TEST(Image, EveryPngColourTypeAndDepthReadsAsTheSameGray) {
  const GrayImage expected = gradient();
  std::vector<uint16_t> gray8, gray16, rgb8, rgb16, gray_alpha, rgba, palette_indices;
  std::vector<uint8_t> palette;
  for (uint8_t v : expected.pixels) {
    gray8.push_back(v);
    gray16.push_back(uint16_t(v * 257));  // 8-bit v as a 16-bit sample of the same brightness
    rgb8.insert(rgb8.end(), {v, v, v});
    rgb16.insert(rgb16.end(), {uint16_t(v * 257), uint16_t(v * 257), uint16_t(v * 257)});
    gray_alpha.insert(gray_alpha.end(), {v, 255});
    rgba.insert(rgba.end(), {v, v, v, 255});
    palette_indices.push_back(v);
    palette.insert(palette.end(), {v, v, v});
  }
  const std::vector<std::pair<std::string, std::string>> files = {
      {"gray 8-bit", png_file(16, 16, kPngGray, 8, gray8)},
      {"gray 16-bit", png_file(16, 16, kPngGray, 16, gray16)},
      {"RGB 8-bit", png_file(16, 16, kPngRgb, 8, rgb8)},
      {"RGB 16-bit", png_file(16, 16, kPngRgb, 16, rgb16)},
      {"gray + alpha", png_file(16, 16, kPngGrayAlpha, 8, gray_alpha)},
      {"RGBA", png_file(16, 16, kPngRgba, 8, rgba)},
      {"palette", png_file(16, 16, kPngPalette, 8, palette_indices, palette)},
  };
  for (const auto& [what, bytes] : files) {
    SCOPED_TRACE(what);
    const GrayImage image = decoded(bytes);
    ASSERT_EQ(image.width, 16);
    ASSERT_EQ(image.height, 16);
    for (size_t i = 0; i < 256; ++i)
      ASSERT_NEAR(image.pixels[i], expected.pixels[i], 1) << "pixel " << i;  // libpng's rounding
  }
}

TEST(Image, OneBitGrayExpandsToBlackAndWhite) {
  const GrayImage image = decoded(png_file(3, 1, kPngGray, 1, {0, 1, 0}));
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 255, 0}));
}

TEST(Image, TransparencyIsCompositedOntoWhitePaper) {
  // Black ink, opaque / transparent / half transparent, and a palette entry made transparent by tRNS.
  const GrayImage rgba = decoded(png_file(3, 1, kPngRgba, 8, {0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128}));
  EXPECT_EQ(rgba.pixels[0], 0);
  EXPECT_EQ(rgba.pixels[1], 255);
  EXPECT_GT(rgba.pixels[2], 60);  // half ink: a mid gray (libpng mixes in linear light, so above 128)
  EXPECT_LT(rgba.pixels[2], 210);
  const GrayImage palette = decoded(png_file(2, 1, kPngPalette, 8, {0, 1}, {0, 0, 0, 0, 0, 0}, {255, 0}));
  EXPECT_EQ(palette.pixels, (std::vector<uint8_t>{0, 255}));
}

TEST(Image, ColourBecomesLuminance) {
  // Pure green looks brightest, then red, then blue: sRGB luminance, not an average of the channels.
  const GrayImage image = decoded(png_file(3, 1, kPngRgb, 8, {255, 0, 0, 0, 255, 0, 0, 0, 255}));
  const int red = image.pixels[0], green = image.pixels[1], blue = image.pixels[2];
  EXPECT_GT(green, red);
  EXPECT_GT(red, blue);
  EXPECT_GT(blue, 0);
  EXPECT_LT(green, 255);
}

TEST(Image, PgmBinaryAndTextWithCommentsAndAnyMaxval) {
  EXPECT_EQ(decode_pgm("P5\n# made by hand\n3 1\n255\n\x00\x80\xff"s, "a.pgm").pixels,
            (std::vector<uint8_t>{0, 128, 255}));
  EXPECT_EQ(decode_pgm("P5 2 1 65535\n\x00\x00\xff\xff"s, "b.pgm").pixels, (std::vector<uint8_t>{0, 255}));
  const GrayImage text = decode_pgm("P2\n# comment\n2 2 # another\n15\n0 15\n# between rows\n 5 10\n", "c.pgm");
  EXPECT_EQ(text.width, 2);
  EXPECT_EQ(text.height, 2);
  EXPECT_EQ(text.pixels, (std::vector<uint8_t>{0, 255, 85, 170}));
}

TEST(Image, LoadImageRecognisesTheFormatByContentNotName) {
  TempDir dir;
  const GrayImage image = gradient();
  write_file(dir.file("really-a-pgm.png"), pgm_file(image));
  write_file(dir.file("really-a-png.pgm"), gray_png(image));
  EXPECT_EQ(load_image(dir.file("really-a-pgm.png")).pixels, image.pixels);
  EXPECT_EQ(load_image(dir.file("really-a-png.pgm")).pixels, image.pixels);
}

TEST(Image, EncodePngRoundTrips) {
  const GrayImage image = gradient();
  const GrayImage back = decoded(encode_png(image));
  EXPECT_EQ(back.width, 16);
  EXPECT_EQ(back.pixels, image.pixels);
}

// --- malformed files ---

TEST(Image, MalformedPngIsAFileErrorNamingTheFile) {
  const std::string good = gray_png(drawn_digit('7'));
  const std::string signature = "\x89PNG\r\n\x1a\n";
  const auto ihdr = [](uint32_t width, uint32_t height) {
    return png_chunk("IHDR", be32(width) + be32(height) + std::string("\x08\x00\x00\x00\x00", 5));
  };
  const std::string idat = png_chunk("IDAT", std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8));
  std::string bad_crc = good;
  bad_crc[30] = char(bad_crc[30] ^ 0x55);  // inside IHDR's CRC (bytes 29..32)
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"truncated.png", good.substr(0, good.size() / 2), "corrupt or truncated PNG"},
      {"cut-in-header.png", good.substr(0, 20), "not a readable PNG"},
      {"signature-only.png", signature, "not a readable PNG"},
      {"bad-crc.png", bad_crc, "PNG"},
      // libpng reads the header up to the first IDAT before it says the size; the data never come.
      {"huge.png", signature + ihdr(100000, 100000) + idat + png_chunk("IEND", ""), "more than the limit"},
      {"absurd.png", signature + ihdr(0x7fffffff, 0x7fffffff) + idat + png_chunk("IEND", ""), "PNG"},
      {"zero-width.png", signature + ihdr(0, 10) + png_chunk("IEND", ""), "PNG"},
      {"no-idat.png", signature + ihdr(10, 10) + png_chunk("IEND", ""), "PNG"},
  };
  TempDir dir;
  for (const auto& [name, bytes, words] : cases) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    write_file(path, bytes);
    expect_file_error([&] { load_image(path); }, path, words);
  }
}

TEST(Image, MalformedPgmIsAFileErrorNamingTheFile) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"zero-width.pgm", "P5 0 4 255\n", "width 0 is outside"},
      {"maxval-zero.pgm", "P5 2 2 0\n\x01\x02\x03\x04", "maxval 0"},
      {"maxval-big.pgm", "P5 2 2 70000\n", "maxval 70000"},
      {"short.pgm", "P5 4 4 255\nabc", "truncated PGM"},
      {"no-maxval.pgm", "P5 4 4", "ends before its maxval"},
      {"words.pgm", "P2 2 1 255\n12 twelve\n", "sample 1 is not a number"},
      {"above-maxval.pgm", "P2 2 1 15\n3 16\n", "sample 1 16 is outside"},
      {"binary-above-maxval.pgm", "P5 2 1 15\n\x03\x10", "above maxval"},
      {"trailing.pgm", "P5 1 1 255\n\x05\x06", "trailing bytes"},
      {"huge.pgm", "P5 100000 100000 255\n", "more than the limit"},
      {"no-space.pgm", "P5 1 1 255", "whitespace"},
  };
  TempDir dir;
  for (const auto& [name, bytes, words] : cases) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    write_file(path, bytes);
    expect_file_error([&] { load_image(path); }, path, words);
  }
}

TEST(Image, EmptyMissingFolderAndForeignFilesAreFileErrors) {
  TempDir dir;
  write_file(dir.file("empty.png"), "");
  write_file(dir.file("text.png"), "hello, this is not a picture\n");
  write_file(dir.file("jpeg.png"), "\xff\xd8\xff\xe0\x00\x10JFIF");
  write_file(dir.file("half-signature.png"), "\x89PNG");
  expect_file_error([&] { load_image(dir.file("empty.png")); }, dir.file("empty.png"), "empty file");
  expect_file_error([&] { load_image(dir.file("text.png")); }, dir.file("text.png"), "not a PNG or PGM");
  expect_file_error([&] { load_image(dir.file("jpeg.png")); }, dir.file("jpeg.png"), "not a PNG or PGM");
  expect_file_error([&] { load_image(dir.file("half-signature.png")); }, dir.file("half-signature.png"),
                    "truncated PNG");
  expect_file_error([&] { load_image(dir.file("missing.png")); }, dir.file("missing.png"), "cannot open");
  expect_file_error([&] { load_image(dir.path().string()); }, dir.path().string(), "is a folder");
}

TEST(Image, PgmMessagesQuoteTheFilesBytesEscaped) {
  // A header token with a NUL, an escape sequence and bytes that are not UTF-8 in it.
  const std::string message = error_message([] { decode_pgm("P2 12\0\x1b[2J\xff\xfe 3 255\n"s, "bad.pgm"); });
  EXPECT_TRUE(is_short_printable_line(message));
  EXPECT_NE(message.find("PGM width is not a number: '12\\x00\\x1b[2J\\xff\\xfe'"), std::string::npos) << message;
}

TEST(Image, RandomlyDamagedFilesAreFileErrorsOrPictures) {
  // Flipped bytes and cut-off ends anywhere in a PNG (compressed data, chunk lengths, CRCs) and a PGM:
  // every outcome is a picture or a FileError, never a crash or another exception (run it under ASan).
  constexpr int kTrials = 400;
  const GrayImage small{kMnistSide, kMnistSide, mnist_digit_from_image(drawn_digit('0')).pixels};
  const std::vector<std::pair<std::string, std::string>> originals = {{"png", gray_png(small)},
                                                                      {"pgm", pgm_file(small)}};
  Rng rng(5);
  for (const auto& [kind, original] : originals) {
    int errors = 0;
    for (int trial = 0; trial < kTrials; ++trial) {
      std::string bytes = original;
      const int flips = 1 + int(rng.below(8));
      for (int f = 0; f < flips; ++f) bytes[rng.below(bytes.size())] = char(rng.below(256));
      if (trial % 4 == 0) bytes.resize(rng.below(bytes.size()));
      try {
        const GrayImage image =
            kind == "png" ? decode_png(bytes, "damaged.png") : decode_pgm(bytes, "damaged.pgm");
        EXPECT_EQ(image.pixels.size(), size_t(image.width) * size_t(image.height));
      } catch (const FileError&) {
        ++errors;
      }
    }
    EXPECT_GT(errors, kTrials / 4) << kind;  // the damage is mostly noticed
  }
}

// --- MNIST-style preprocessing ---

TEST(MnistDigit, FitsTheLongerSideInTwentyPixelsKeepingTheAspectRatio) {
  // A 40 x 160 bar and a 160 x 40 bar, off-centre on a 300 x 400 page: 5 x 20 and 20 x 5 in MNIST.
  for (const bool tall : {true, false}) {
    SCOPED_TRACE(tall ? "tall" : "wide");
    Canvas canvas(300, 400);
    if (tall)
      canvas.fill(30, 200, 70, 360);
    else
      canvas.fill(120, 30, 280, 70);
    const InkStats s = ink_stats(mnist_digit_from_image(canvas.on_paper()));
    EXPECT_EQ(s.y1 - s.y0, tall ? kMnistBox : 5);
    EXPECT_EQ(s.x1 - s.x0, tall ? 5 : kMnistBox);
  }
}

TEST(MnistDigit, PutsTheCentreOfMassWithinHalfAPixelOfTheCentre) {
  // Lopsided shapes too: a "7" has most of its ink at the top, an "L" in the lower left.
  Canvas ell(250, 250);
  ell.stroke({{40, 20}, {40, 200}, {200, 200}}, 20);
  for (const auto& [what, image] : std::vector<std::pair<std::string, GrayImage>>{
           {"0", drawn_digit('0')}, {"1", drawn_digit('1')}, {"7", drawn_digit('7')}, {"L", ell.on_paper()}}) {
    SCOPED_TRACE(what);
    const InkStats s = ink_stats(mnist_digit_from_image(image));
    EXPECT_NEAR(s.com_x, kMnistCentre, kHalfPixel);
    EXPECT_NEAR(s.com_y, kMnistCentre, kHalfPixel);
    EXPECT_EQ(std::max(s.x1 - s.x0, s.y1 - s.y0), kMnistBox);
  }
}

TEST(MnistDigit, DarkOnLightAndLightOnDarkGiveTheSameSample) {
  const GrayImage drawing = drawn_digit('7');
  const MnistDigit on_paper = mnist_digit_from_image(drawing);
  const MnistDigit on_black = mnist_digit_from_image(inverted(drawing));
  EXPECT_TRUE(on_paper.inverted);
  EXPECT_FALSE(on_black.inverted);
  EXPECT_EQ(on_paper.pixels, on_black.pixels);
  EXPECT_EQ(*std::max_element(on_paper.pixels.begin(), on_paper.pixels.end()), 255);
  // MNIST's background is exactly 0; the frame around the 20-pixel box stays empty.
  EXPECT_EQ(on_paper.pixels[0], 0);
}

TEST(MnistDigit, PaperGrainAndGrayPencilDoNotChangeTheDigitMuch) {
  // The same "0" in gray pencil (ink 60% dark) on off-white paper with grain of +-8 levels.
  const GrayImage clean = drawn_digit('0');
  GrayImage scanned = clean;
  Rng rng(3);
  for (uint8_t& p : scanned.pixels) {
    const double paper = 235 + double(rng.below(17)) - 8;
    const double ink = 1.0 - p / 255.0;  // coverage
    p = uint8_t(std::lround(paper * (1.0 - 0.6 * ink)));
  }
  const MnistDigit a = mnist_digit_from_image(clean), b = mnist_digit_from_image(scanned);
  const InkStats sa = ink_stats(a), sb = ink_stats(b);
  EXPECT_EQ(sa.x1 - sa.x0, sb.x1 - sb.x0);
  EXPECT_EQ(sa.y1 - sa.y0, sb.y1 - sb.y0);
  // The grain survives only as faint noise.
  EXPECT_LT(mean_difference_up_to_one_pixel(a, b), 6.0);
}

TEST(MnistDigit, APictureWithoutInkIsRefused) {
  GrayImage blank{50, 40, std::vector<uint8_t>(2000, 250)};
  blank.pixels[77] = 240;  // a speck, too faint to be a digit
  try {
    mnist_digit_from_image(blank);
    ADD_FAILURE() << "no error for a blank picture";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no digit found"), std::string::npos) << e.what();
  }
  TempDir dir;
  write_file(dir.file("blank.png"), gray_png(blank));
  expect_file_error([&] { load_mnist_digit(dir.file("blank.png")); }, dir.file("blank.png"), "no digit found");
}

TEST(MnistDigit, TinyAndOnePixelPicturesWork) {
  GrayImage dot{1, 1, {0}};  // a single dark pixel: no border to tell paper from ink; all of it is ink
  EXPECT_NO_THROW(mnist_digit_from_image(GrayImage{3, 3, {255, 255, 255, 255, 0, 255, 255, 255, 255}}));
  EXPECT_THROW(mnist_digit_from_image(dot), Error);  // one shade: nothing to recognise
}

TEST(MnistDigit, ReproducesRealMnistDigitsFromEnlargedPrints) {
  // MNIST's own digits, printed 10x larger as dark ink on white paper, come back nearly as they were:
  // the preprocessing is the one MNIST was made with.
  const std::string dir = std::string(CUDAMLP_SOURCE_DIR) + "/data/mnist";
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte") &&
      !std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "MNIST not found in " << dir << " (run data/fetch-mnist.sh)";
  const Dataset test = load_mnist_dir(dir).test;
  constexpr int kSamples = 300, kScale = 10;
  double total_difference = 0;
  int same_place = 0;
  for (int n = 0; n < kSamples; ++n) {
    const uint8_t* original = test.pixels.data() + size_t(n) * 784;
    GrayImage print{28 * kScale, 28 * kScale, std::vector<uint8_t>(size_t(784 * kScale * kScale))};
    for (int y = 0; y < print.height; ++y)
      for (int x = 0; x < print.width; ++x)
        print.pixels[size_t(y * print.width + x)] = uint8_t(255 - original[(y / kScale) * 28 + x / kScale]);
    const MnistDigit digit = mnist_digit_from_image(print);
    double difference = 0;
    for (size_t i = 0; i < 784; ++i) difference += std::abs(int(digit.pixels[i]) - int(original[i]));
    total_difference += difference / 784;
    MnistDigit as_is;
    as_is.pixels.assign(original, original + 784);
    const InkStats a = ink_stats(digit), b = ink_stats(as_is);
    if (std::abs(a.com_x - b.com_x) < 1 && std::abs(a.com_y - b.com_y) < 1) ++same_place;
  }
  // Mean absolute difference per pixel in levels of 255: faint anti-aliasing below the ink floor is
  // dropped, the rest is kept.
  EXPECT_LT(total_difference / kSamples, 12.0);
  EXPECT_GE(same_place, kSamples * 9 / 10);
}
