// Random generators passed from JS (see runtime.cpp: newGenerator).
#pragma once

#include <ATen/core/Generator.h>
#include <napi.h>

namespace wish {

// Optional generator argument: undefined/null -> the default generator.
c10::optional<at::Generator> ArgOptGenerator(const Napi::CallbackInfo& info, size_t i);

}  // namespace wish
