// How a sample's stored values become the network's input x: the one property of the data that a
// model must share with it. A Dataset says which it holds, a Network which it was trained on, and model
// files record it (`cudamlp.input_scale`), so a model trained on float features never claims /255.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cudamlp {

enum class InputScale : uint8_t {
  kPixel255,  // uint8 pixels, x = pixel / 255 in float32 (scale_pixel, dataset.h): MNIST, CSV, pictures
  kNone,      // float32 features, x = the value as given (a .npy file, numpy arrays)
};

// The model file's spelling: "pixel/255" or "none".
constexpr std::string_view input_scale_name(InputScale scale) {
  return scale == InputScale::kPixel255 ? "pixel/255" : "none";
}
// The inverse of input_scale_name; nullopt for any other text.
constexpr std::optional<InputScale> parse_input_scale(std::string_view name) {
  if (name == "pixel/255") return InputScale::kPixel255;
  if (name == "none") return InputScale::kNone;
  return std::nullopt;
}
// What a message calls the data of that scale.
constexpr std::string_view input_kind_name(InputScale scale) {
  return scale == InputScale::kPixel255 ? "uint8 pixels (scaled by 1/255)" : "float32 features (used as given)";
}

}  // namespace cudamlp
