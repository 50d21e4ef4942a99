// The page `cudamlp serve` answers GET / with: one self-contained HTML document (inline CSS and
// script, nothing fetched from elsewhere, works offline). Draw a digit with a mouse, finger or pen, or
// pick a picture; after each stroke the page POSTs the canvas as a PNG to /predict and shows the ten
// probabilities as bars, the predicted digit, and the 28x28 input the server made of the drawing (the
// MNIST preprocessing of `cudamlp predict`), so a misread digit can be seen for what the network saw.
// The model's name, architecture and test accuracy (when the file records it) come from GET /model.
#pragma once

#include <string>

namespace cudamlp::serve {

// The page, its inline <style> and <script> carrying nonce (the Content-Security-Policy allows only them).
std::string digit_page_html(const std::string& nonce);

// The Content-Security-Policy that goes with it: its own nonce'd code, requests to its own origin.
std::string digit_page_policy(const std::string& nonce);

}  // namespace cudamlp::serve
