// Optimizer state ⇄ named tensors, for safetensors checkpoints and exact resume.
#include <charconv>
#include <functional>
#include <optional>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/optim/optimizers.hpp"

namespace autotimm {
namespace {

namespace optim = torch::optim;
using Fields = std::map<std::string, torch::Tensor>;

std::string state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

torch::Tensor step_tensor(std::int64_t step) { return torch::tensor(step, torch::kInt64); }

void put(Fields& fields, const char* name, const torch::Tensor& tensor) {
  if (tensor.defined()) fields[name] = tensor.detach().clone();
}

// The fields of one parameter's state, by the state's type.
Fields fields_of(const optim::OptimizerParamState& state) {
  Fields f;
  if (auto* s = dynamic_cast<const optim::SGDParamState*>(&state)) {
    put(f, "momentum_buffer", s->momentum_buffer());
  } else if (auto* a = dynamic_cast<const optim::AdamParamState*>(&state)) {
    f["step"] = step_tensor(a->step());
    put(f, "exp_avg", a->exp_avg());
    put(f, "exp_avg_sq", a->exp_avg_sq());
    put(f, "max_exp_avg_sq", a->max_exp_avg_sq());
  } else if (auto* w = dynamic_cast<const optim::AdamWParamState*>(&state)) {
    f["step"] = step_tensor(w->step());
    put(f, "exp_avg", w->exp_avg());
    put(f, "exp_avg_sq", w->exp_avg_sq());
    put(f, "max_exp_avg_sq", w->max_exp_avg_sq());
  } else if (auto* r = dynamic_cast<const optim::RMSpropParamState*>(&state)) {
    f["step"] = step_tensor(r->step());
    put(f, "square_avg", r->square_avg());
    put(f, "momentum_buffer", r->momentum_buffer());
    put(f, "grad_avg", r->grad_avg());
  } else if (auto* g = dynamic_cast<const optim::AdagradParamState*>(&state)) {
    f["step"] = step_tensor(g->step());
    put(f, "sum", g->sum());
  } else if (auto* l = dynamic_cast<const LambParamState*>(&state)) {
    f["step"] = step_tensor(l->step());
    put(f, "exp_avg", l->exp_avg());
    put(f, "exp_avg_sq", l->exp_avg_sq());
  } else {
    throw ConfigError("optimizer_state_tensors: unsupported optimizer state type; expected the state of sgd, adam, "
                      "adamw, rmsprop, adagrad or lamb");
  }
  return f;
}

// What a loaded field must look like; the state built from the fields, by the optimizer's type.
struct Kind {
  std::set<std::string> fields;
  std::function<std::unique_ptr<optim::OptimizerParamState>(Fields&)> make;
};

std::int64_t take_step(Fields& f) { return f.count("step") ? f["step"].item<std::int64_t>() : 0; }
torch::Tensor take(Fields& f, const char* name) { return f.count(name) ? f[name] : torch::Tensor(); }

Kind kind_of(const optim::Optimizer& optimizer) {
  if (dynamic_cast<const optim::SGD*>(&optimizer)) {
    return {{"momentum_buffer"}, [](Fields& f) {
              auto s = std::make_unique<optim::SGDParamState>();
              s->momentum_buffer(take(f, "momentum_buffer"));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(s));
            }};
  }
  if (dynamic_cast<const optim::Adam*>(&optimizer)) {
    return {{"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, [](Fields& f) {
              auto s = std::make_unique<optim::AdamParamState>();
              s->step(take_step(f)).exp_avg(take(f, "exp_avg")).exp_avg_sq(take(f, "exp_avg_sq"));
              s->max_exp_avg_sq(take(f, "max_exp_avg_sq"));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(s));
            }};
  }
  if (dynamic_cast<const optim::AdamW*>(&optimizer)) {
    return {{"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, [](Fields& f) {
              auto s = std::make_unique<optim::AdamWParamState>();
              s->step(take_step(f)).exp_avg(take(f, "exp_avg")).exp_avg_sq(take(f, "exp_avg_sq"));
              s->max_exp_avg_sq(take(f, "max_exp_avg_sq"));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(s));
            }};
  }
  if (dynamic_cast<const optim::RMSprop*>(&optimizer)) {
    return {{"step", "square_avg", "momentum_buffer", "grad_avg"}, [](Fields& f) {
              auto s = std::make_unique<optim::RMSpropParamState>();
              s->step(take_step(f)).square_avg(take(f, "square_avg"));
              s->momentum_buffer(take(f, "momentum_buffer")).grad_avg(take(f, "grad_avg"));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(s));
            }};
  }
  if (dynamic_cast<const optim::Adagrad*>(&optimizer)) {
    return {{"step", "sum"}, [](Fields& f) {
              auto s = std::make_unique<optim::AdagradParamState>();
              s->step(take_step(f)).sum(take(f, "sum"));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(s));
            }};
  }
  if (dynamic_cast<const Lamb*>(&optimizer)) {
    return {{"step", "exp_avg", "exp_avg_sq"}, [](Fields& f) {
              auto s = std::make_unique<LambParamState>();
              s->step(take_step(f)).exp_avg(take(f, "exp_avg")).exp_avg_sq(take(f, "exp_avg_sq"));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(s));
            }};
  }
  throw ConfigError("load_optimizer_state_tensors: unsupported optimizer; expected sgd, adam, adamw, rmsprop, "
                    "adagrad or lamb");
}

std::optional<std::size_t> parse_index(std::string_view text) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_dots(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string shape_text(c10::IntArrayRef sizes) {
  std::string out = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

}  // namespace

std::map<std::string, torch::Tensor> optimizer_state_tensors(const torch::optim::Optimizer& optimizer) {
  std::map<std::string, torch::Tensor> tensors;
  const auto& groups = optimizer.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    tensors["optimizer.param_groups." + std::to_string(g) + ".lr"] =
        torch::tensor(groups[g].options().get_lr(), torch::kFloat64);
    const auto& params = groups[g].params();
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto found = optimizer.state().find(state_key(params[i]));
      if (found == optimizer.state().end()) continue;
      for (auto& [field, tensor] : fields_of(*found->second)) {
        tensors["optimizer.state." + std::to_string(g) + "." + std::to_string(i) + "." + field] = tensor;
      }
    }
  }
  return tensors;
}

void load_optimizer_state_tensors(torch::optim::Optimizer& optimizer,
                                  const std::map<std::string, torch::Tensor>& tensors) {
  const Kind kind = kind_of(optimizer);
  auto& groups = optimizer.param_groups();
  std::map<std::pair<std::size_t, std::size_t>, Fields> per_param;
  std::map<std::size_t, double> lrs;
  auto bad = [](const std::string& key, const std::string& why) {
    return FormatError("optimizer state: '" + key + "': " + why);
  };
  for (const auto& [key, tensor] : tensors) {
    auto parts = split_dots(key);
    if (parts.size() == 4 && parts[0] == "optimizer" && parts[1] == "param_groups" && parts[3] == "lr") {
      auto g = parse_index(parts[2]);
      if (!g || *g >= groups.size()) {
        throw bad(key, "expected a group index below " + std::to_string(groups.size()));
      }
      if (tensor.numel() != 1) throw bad(key, "expected a scalar, got shape " + shape_text(tensor.sizes()));
      lrs[*g] = tensor.to(torch::kFloat64).item<double>();
      continue;
    }
    if (parts.size() != 5 || parts[0] != "optimizer" || parts[1] != "state") {
      throw bad(key, "expected optimizer.state.<group>.<param index>.<field> or optimizer.param_groups.<group>.lr");
    }
    auto g = parse_index(parts[2]);
    if (!g || *g >= groups.size()) throw bad(key, "expected a group index below " + std::to_string(groups.size()));
    auto i = parse_index(parts[3]);
    if (!i || *i >= groups[*g].params().size()) {
      throw bad(key, "expected a parameter index below " + std::to_string(groups[*g].params().size()));
    }
    const std::string field(parts[4]);
    if (!kind.fields.count(field)) {
      std::vector<std::string> valid(kind.fields.begin(), kind.fields.end());
      std::string list;
      for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
      throw bad(key, "unknown field '" + field + "' for this optimizer; expected one of " + list);
    }
    const auto& param = groups[*g].params()[*i];
    if (field == "step") {
      if (tensor.numel() != 1) throw bad(key, "expected a scalar, got shape " + shape_text(tensor.sizes()));
    } else if (tensor.sizes() != param.sizes()) {
      throw bad(key, "expected shape " + shape_text(param.sizes()) + " (the parameter's), got " +
                         shape_text(tensor.sizes()));
    }
    per_param[{*g, *i}][field] =
        field == "step" ? tensor : tensor.detach().to(param.device(), param.scalar_type()).clone();
  }
  optimizer.state().clear();
  for (auto& [index, fields] : per_param) {
    const auto& param = groups[index.first].params()[index.second];
    optimizer.state()[state_key(param)] = kind.make(fields);
  }
  for (const auto& [g, lr] : lrs) groups[g].options().set_lr(lr);
}

}  // namespace autotimm
