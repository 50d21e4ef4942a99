// NumPy .npy files (numpy.save; format versions 1.0, 2.0 and 3.0) as datasets, so that a user's own data
// needs no conversion: features X and integer labels y, each its own file.
//   features: shape [N, D] (rows = 1, cols = D) or [N, H, W] (an image: rows = H, cols = W), dtype
//             uint8 ('|u1': pixels, scaled by 1/255 like MNIST's) or float32 ('<f4': used as given,
//             every value finite)
//   labels:   shape [N], any integer dtype (int8 .. int64, uint8 .. uint64), values in [0, num_classes)
// Little-endian data only. fortran_order True is read too, as a transposed copy into C order. Every
// check failure throws FileError naming the file and what it found: no .npy magic, another version, a
// header that is not numpy's dict, another dtype (big-endian, object, structured, float64, ...), another
// shape, a file shorter or longer than its shape (truncated, trailing bytes), a label out of range. The
// header is untrusted: what its shape claims is checked against the bytes the file has before anything
// is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cudamlp/dataset.h"

namespace cudamlp {

// The features of a .npy file as a Dataset without labels (uint8: InputScale::kPixel255, float32: kNone).
Dataset load_npy_features(const std::string& path);
// The same from the file's bytes in memory; `name` is the file the errors name.
Dataset parse_npy_features(std::string_view bytes, const std::string& name);

// Labels [N] of a .npy file. num_classes > 0: every label must be < num_classes; 0: the classes are
// 0 .. the largest label, at most kMaxClasses of them (labels are uint8).
struct NpyLabels {
  std::vector<uint8_t> labels;
  int num_classes = 0;  // the given one, or the largest label + 1
};
NpyLabels load_npy_labels(const std::string& path, int num_classes = 0);
NpyLabels parse_npy_labels(std::string_view bytes, const std::string& name, int num_classes = 0);

// Features and labels together: also checks that they count the same samples.
Dataset load_npy(const std::string& features_path, const std::string& labels_path, int num_classes = 0);

}  // namespace cudamlp
