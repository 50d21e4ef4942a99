// load_kaggle_csv: the Kaggle digit-recognizer CSV files. train.csv is `label,pixel0,...,pixel783`
// then 42000 rows (~75 MB), test.csv has only the pixel columns. The whole file is read into memory
// and scanned with pointers and std::from_chars (no iostream per value): parsing train.csv takes a
// fraction of a second. Accepts CRLF line ends, a missing final newline and blank lines at the end;
// everything else that is not `integer,integer,...` is an error naming the line and column, quoting what
// it found through format.h's excerpt (a field, a column name: escaped and cut short).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "cudamlp/file_kind.h"
#include "format.h"
#include "read_file.h"

namespace cudamlp {

namespace {

// Same limit as the IDX reader: more pixels per sample than this is a broken file, not an image.
constexpr size_t kMaxPixelColumns = size_t{1} << 20;

// Splits text into lines without copying; strips the '\r' of CRLF line ends.
class LineScanner {
 public:
  explicit LineScanner(std::string_view text) : rest_(text) {}
  bool next(std::string_view& line) {
    if (rest_.empty()) return false;
    const size_t end = rest_.find('\n');
    line = rest_.substr(0, end);
    rest_ = end == std::string_view::npos ? std::string_view{} : rest_.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number_;
    return true;
  }
  int64_t line_number() const { return number_; }  // 1-based number of the last line returned

 private:
  std::string_view rest_;
  int64_t number_ = 0;
};

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const size_t comma = line.find(',');
    fields.push_back(line.substr(0, comma));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

// A file that is plainly something else (a picture, an IDX or safetensors file, UTF-16 text) is named for
// what it is rather than parsed into a puzzling message about its "line 2".
void check_is_csv(const std::string& path, std::string_view text) {
  const FileKind kind = file_kind(text);
  if (kind == FileKind::kUtf16Text)
    throw FileError(path, "is UTF-16 text; cudamlp reads CSV files in UTF-8 or ASCII (save it as \"CSV UTF-8\")");
  if (kind != FileKind::kText && kind != FileKind::kEmpty && kind != FileKind::kUnknown)
    throw FileError(path, std::string("is ") + file_kind_name(kind) + ", not a CSV file (label,pixel0,... lines)");
}

// A header without commas but with another separator is a CSV of another locale (';') or a TSV: say so,
// instead of reading it as one column named "label;pixel0;...".
void check_separator(const std::string& path, std::string_view header) {
  if (header.find(',') != std::string_view::npos) return;
  for (const char* separator : {";", "\t"})
    if (header.find(separator[0]) != std::string_view::npos)
      throw FileError(path, "header " + quoted_excerpt(header) + " has no commas but is separated by '" +
                                escape_bytes(separator) + "': cudamlp reads comma-separated values");
}

bool is_integer(std::string_view field) {
  int value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  return error != std::errc::invalid_argument && end == field.data() + field.size();
}

}  // namespace

Dataset load_kaggle_csv(const std::string& path, int num_classes) {
  return parse_kaggle_csv(read_whole_file(path, "a CSV file"), path, num_classes);
}

Dataset parse_kaggle_csv(std::string_view text, const std::string& path, int num_classes) {
  // Labels are stored as uint8, so more than 256 classes cannot be represented.
  if (num_classes < 1 || num_classes > 256)
    throw UsageError("number of classes must be in 1..256, got " + std::to_string(num_classes));
  check_is_csv(path, text);
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 byte order mark (spreadsheet exports)
  LineScanner lines(body);

  // --- header: names the columns; only the first one matters ("label" or a pixel) ---
  std::string_view header;
  if (!lines.next(header) || header.empty())
    throw FileError(path, "empty file, expected a header line (label,pixel0,...,pixel783 or pixel0,...)");
  check_separator(path, header);
  const std::vector<std::string_view> names = split_fields(header);
  if (is_integer(names[0]))
    throw FileError(path, "line 1 starts with a number, expected a header line (label,pixel0,... or pixel0,...)");
  const bool labelled = names[0] == "label";
  const size_t num_columns = names.size();
  const size_t first_pixel = labelled ? 1 : 0;
  const size_t dim = num_columns - first_pixel;  // D pixel columns
  if (dim == 0) throw FileError(path, "header has a label column but no pixel columns");
  if (dim > kMaxPixelColumns)
    throw FileError(path, "header has " + std::to_string(dim) + " pixel columns, more than the limit of " +
                              std::to_string(kMaxPixelColumns));

  Dataset data;
  data.num_classes = num_classes;
  const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(dim))));
  if (static_cast<size_t>(side) * static_cast<size_t>(side) == dim) {
    data.rows = data.cols = side;
  } else {
    data.rows = 1;
    data.cols = static_cast<int>(dim);
  }
  // Every data row takes at least 2*D bytes ("0," per value), so this bound comes from the bytes
  // really present, not from anything the file claims.
  const size_t max_rows = body.size() / (2 * num_columns) + 1;
  const size_t newlines = static_cast<size_t>(std::count(body.begin(), body.end(), '\n'));
  data.pixels.reserve(std::min(max_rows, newlines + 1) * dim);  // [N, D] row-major
  if (labelled) data.labels.reserve(std::min(max_rows, newlines + 1));

  // --- data rows ---
  auto where = [&](size_t column) {
    return "line " + std::to_string(lines.line_number()) + ", column " + std::to_string(column + 1) + " (" +
           excerpt(names[column]) + ")";
  };
  std::string_view line;
  int64_t first_blank_line = 0;  // blank lines are fine only at the end of the file
  while (lines.next(line)) {
    if (line.empty()) {
      if (first_blank_line == 0) first_blank_line = lines.line_number();
      continue;
    }
    if (first_blank_line != 0)
      throw FileError(path, "line " + std::to_string(first_blank_line) + " is blank but more data follow it");
    const size_t found = static_cast<size_t>(std::count(line.begin(), line.end(), ',')) + 1;
    if (found != num_columns)
      throw FileError(path, "line " + std::to_string(lines.line_number()) + ": expected " +
                                std::to_string(num_columns) + " values, found " + std::to_string(found));
    const char* p = line.data();
    const char* const line_end = line.data() + line.size();
    for (size_t column = 0; column < num_columns; ++column) {
      const char* field_end = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(line_end - p)));
      if (!field_end) field_end = line_end;
      const std::string_view field(p, static_cast<size_t>(field_end - p));
      if (field.empty()) throw FileError(path, where(column) + ": empty value");
      int value = 0;
      const auto [end, error] = std::from_chars(p, field_end, value);
      if (error == std::errc::invalid_argument || end != field_end)
        throw FileError(path, where(column) + ": " + quoted_excerpt(field) + " is not an integer");
      if (column < first_pixel) {
        if (error != std::errc{} || value < 0 || value >= num_classes)
          throw FileError(path, where(column) + ": label " + quoted_excerpt(field) + " is not < " +
                                    std::to_string(num_classes) + " classes");
        data.labels.push_back(static_cast<uint8_t>(value));
      } else {
        if (error != std::errc{} || value < 0 || value > 255)
          throw FileError(path, where(column) + ": pixel value " + quoted_excerpt(field) + " is outside 0..255");
        data.pixels.push_back(static_cast<uint8_t>(value));
      }
      if (field_end != line_end) p = field_end + 1;  // past the comma
    }
    ++data.count;
  }
  if (data.count == 0) throw FileError(path, "no samples: the header line is not followed by any data rows");
  return data;
}

}  // namespace cudamlp
