// The training report: one self-contained HTML file (inline CSS, SVG and PNG data URIs; no scripts, no
// network) made from a run log: loss and accuracy per epoch (train and test), the test set's confusion
// matrix as a heat map, a grid of misclassified test digits with their true and predicted labels, and
// the run's settings and throughput. What `train --report` and `cudamlp report` write.
#pragma once

#include <string>

#include "cudamlp/run_log.h"

namespace cudamlp {

// source: where the log came from, named in the footer ("run.json", or "train --report").
std::string report_html(const RunLog& log, const std::string& source);

}  // namespace cudamlp
