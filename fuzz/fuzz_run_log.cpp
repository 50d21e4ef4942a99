// libFuzzer target: the run-log reader (`cudamlp report`'s input) on arbitrary bytes, and the report of
// every log it accepts: the page, its charts and its confusion matrix. Crafted logs once reached
// undefined behaviour in the charts' axes (a negated INT_MIN, a signed overflow) and wrote -nan into the
// SVG; so beyond the sanitizers, the charts must show only finite numbers.
// Run: fuzz/run.sh 60 fuzz_run_log (or build-fuzz/fuzz/fuzz_run_log fuzz/corpus/run_log).
#include <cctype>
#include <string>
#include <string_view>

#include "cudamlp/report.h"
#include "cudamlp/run_log.h"
#include "fuzz_input.h"

namespace {

// Whether svg holds "nan" or "inf" as a word: a number printf could not print. The page's other text
// (settings, file names) is the log's own and may say anything; the charts' text is cudamlp's.
bool shows_non_finite_number(std::string_view svg) {
  for (const std::string_view word : {std::string_view("nan"), std::string_view("inf")})
    for (size_t at = svg.find(word); at != std::string_view::npos; at = svg.find(word, at + 1)) {
      const size_t end = at + word.size();
      const bool starts_word = at == 0 || !std::isalpha(static_cast<unsigned char>(svg[at - 1]));
      const bool ends_word = end == svg.size() || !std::isalpha(static_cast<unsigned char>(svg[end]));
      if (starts_word && ends_word) return true;
    }
  return false;
}

void check_charts(const std::string& html) {
  for (size_t begin = html.find("<svg"); begin != std::string::npos; begin = html.find("<svg", begin + 1)) {
    const size_t end = html.find("</svg>", begin);
    if (end == std::string::npos) std::abort();  // a chart left open
    if (shows_non_finite_number(std::string_view(html).substr(begin, end - begin))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::RunLog log = cudamlp::read_run_log(path);
    check_charts(cudamlp::report_html(log, "fuzz"));
  });
}
