// make_optimizer: names → libtorch optimizers (and our Lamb), with timm's weight-decay split.
#include <algorithm>
#include <functional>
#include <sstream>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/optim/optimizers.hpp"

namespace autotimm {
namespace {

namespace optim = torch::optim;
using OptionsMaker = std::function<std::unique_ptr<optim::OptimizerOptions>(double weight_decay)>;
using Builder = std::function<std::unique_ptr<optim::Optimizer>(std::vector<optim::OptimizerParamGroup>,
                                                                const OptimizerOptions&)>;

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void check(bool ok, const std::string& name, const std::string& what, const std::string& expected, double got) {
  if (!ok) {
    throw ConfigError("optimizer '" + name + "': option '" + what + "': expected " + expected + ", got " +
                      number(got));
  }
}

void validate(const std::string& name, const OptimizerOptions& o) {
  check(o.lr >= 0, name, "lr", ">= 0", o.lr);
  check(o.weight_decay >= 0, name, "weight_decay", ">= 0", o.weight_decay);
  if (o.eps) check(*o.eps >= 0, name, "eps", ">= 0", *o.eps);
  if (name == "sgd" || name == "rmsprop") check(o.momentum >= 0, name, "momentum", ">= 0", o.momentum);
  if (name == "sgd" && o.nesterov) {
    check(o.momentum > 0, name, "momentum", "> 0 with nesterov", o.momentum);
    check(o.dampening == 0, name, "dampening", "0 with nesterov", o.dampening);
  }
  if (name == "adam" || name == "adamw" || name == "lamb") {
    check(o.betas[0] >= 0 && o.betas[0] < 1, name, "betas[0]", "in [0, 1)", o.betas[0]);
    check(o.betas[1] >= 0 && o.betas[1] < 1, name, "betas[1]", "in [0, 1)", o.betas[1]);
  }
  if (name == "rmsprop") check(o.alpha >= 0, name, "alpha", ">= 0", o.alpha);
  if (name == "adagrad") {
    check(o.lr_decay >= 0, name, "lr_decay", ">= 0", o.lr_decay);
    check(o.initial_accumulator_value >= 0, name, "initial_accumulator_value", ">= 0", o.initial_accumulator_value);
  }
  if (name == "lamb" && o.max_grad_norm) check(*o.max_grad_norm > 0, name, "max_grad_norm", "> 0 or null",
                                               *o.max_grad_norm);
}

struct Entry {
  OptionsMaker (*options)(const OptimizerOptions&);
  Builder build;
};

template <class Opt, class Options>
Builder builder() {
  return [](std::vector<optim::OptimizerParamGroup> groups, const OptimizerOptions& o) -> std::unique_ptr<optim::Optimizer> {
    (void)o;
    // Every group carries its own options; the defaults only matter for groups added later.
    Options defaults = static_cast<const Options&>(groups.front().options());
    return std::make_unique<Opt>(std::move(groups), defaults);
  };
}

const std::map<std::string, Entry>& registry() {
  static const std::map<std::string, Entry> entries = {
      {"sgd",
       {[](const OptimizerOptions& o) -> OptionsMaker {
          return [o](double wd) {
            return std::make_unique<optim::SGDOptions>(optim::SGDOptions(o.lr)
                                                           .momentum(o.momentum)
                                                           .dampening(o.dampening)
                                                           .nesterov(o.nesterov)
                                                           .weight_decay(wd));
          };
        },
        builder<optim::SGD, optim::SGDOptions>()}},
      {"adam",
       {[](const OptimizerOptions& o) -> OptionsMaker {
          return [o](double wd) {
            return std::make_unique<optim::AdamOptions>(optim::AdamOptions(o.lr)
                                                            .betas({o.betas[0], o.betas[1]})
                                                            .eps(o.eps.value_or(1e-8))
                                                            .amsgrad(o.amsgrad)
                                                            .weight_decay(wd));
          };
        },
        builder<optim::Adam, optim::AdamOptions>()}},
      {"adamw",
       {[](const OptimizerOptions& o) -> OptionsMaker {
          return [o](double wd) {
            return std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(o.lr)
                                                             .betas({o.betas[0], o.betas[1]})
                                                             .eps(o.eps.value_or(1e-8))
                                                             .amsgrad(o.amsgrad)
                                                             .weight_decay(wd));
          };
        },
        builder<optim::AdamW, optim::AdamWOptions>()}},
      {"rmsprop",
       {[](const OptimizerOptions& o) -> OptionsMaker {
          return [o](double wd) {
            return std::make_unique<optim::RMSpropOptions>(optim::RMSpropOptions(o.lr)
                                                               .alpha(o.alpha)
                                                               .eps(o.eps.value_or(1e-8))
                                                               .momentum(o.momentum)
                                                               .centered(o.centered)
                                                               .weight_decay(wd));
          };
        },
        builder<optim::RMSprop, optim::RMSpropOptions>()}},
      {"adagrad",
       {[](const OptimizerOptions& o) -> OptionsMaker {
          return [o](double wd) {
            return std::make_unique<optim::AdagradOptions>(optim::AdagradOptions(o.lr)
                                                               .lr_decay(o.lr_decay)
                                                               .initial_accumulator_value(o.initial_accumulator_value)
                                                               .eps(o.eps.value_or(1e-10))
                                                               .weight_decay(wd));
          };
        },
        builder<optim::Adagrad, optim::AdagradOptions>()}},
      {"lamb",
       {[](const OptimizerOptions& o) -> OptionsMaker {
          return [o](double wd) {
            return std::make_unique<LambOptions>(LambOptions(o.lr)
                                                     .betas({o.betas[0], o.betas[1]})
                                                     .eps(o.eps.value_or(1e-6))
                                                     .bias_correction(o.bias_correction)
                                                     .grad_averaging(o.grad_averaging)
                                                     .max_grad_norm(o.max_grad_norm)
                                                     .trust_clip(o.trust_clip)
                                                     .always_adapt(o.always_adapt)
                                                     .weight_decay(wd));
          };
        },
        builder<Lamb, LambOptions>()}},
  };
  return entries;
}

}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::string& name, const torch::OrderedDict<std::string, torch::Tensor>& named_parameters,
    const OptimizerOptions& options) {
  const auto& entries = registry();
  auto it = entries.find(name);
  if (it == entries.end()) {
    std::string message = "unknown optimizer '" + name + "': expected one of " + join_names(optimizer_names());
    if (auto hint = did_you_mean(name, optimizer_names())) message += "; did you mean '" + *hint + "'?";
    throw ConfigError(message);
  }
  validate(name, options);
  auto make_options = it->second.options(options);

  std::vector<optim::OptimizerParamGroup> groups;
  if (options.weight_decay > 0 && options.filter_bias_and_bn) {
    auto split = split_weight_decay(named_parameters, options.no_weight_decay);
    if (!split.no_decay.empty()) groups.emplace_back(split.no_decay, make_options(0.0));
    if (!split.decay.empty()) groups.emplace_back(split.decay, make_options(options.weight_decay));
  } else {
    std::vector<torch::Tensor> params;
    for (const auto& item : named_parameters) {
      if (item.value().requires_grad()) params.push_back(item.value());
    }
    if (!params.empty()) groups.emplace_back(std::move(params), make_options(options.weight_decay));
  }
  if (groups.empty()) {
    throw ConfigError("optimizer '" + name + "': no parameters to optimize: expected at least one parameter that "
                      "requires grad, got " + std::to_string(named_parameters.size()) +
                      " parameters none of which does; unfreeze some");
  }
  return it->second.build(std::move(groups), options);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name, const torch::nn::Module& module,
                                                        const OptimizerOptions& options) {
  return make_optimizer(name, module.named_parameters(), options);
}

OptimizerOptions OptimizerOptions::from(const Config& config) {
  OptimizerOptions o;
  config.accept("name");
  o.lr = config.get("lr", o.lr);
  o.weight_decay = config.get("weight_decay", o.weight_decay);
  o.momentum = config.get("momentum", o.momentum);
  o.dampening = config.get("dampening", o.dampening);
  o.nesterov = config.get("nesterov", o.nesterov);
  if (auto betas = config.get_optional<std::vector<double>>("betas")) {
    if (betas->size() != 2) {
      throw ConfigError("option 'betas' in " + config.source() + ": expected 2 numbers, got " +
                        std::to_string(betas->size()));
    }
    o.betas = {(*betas)[0], (*betas)[1]};
  }
  o.eps = config.get_optional<double>("eps");
  o.amsgrad = config.get("amsgrad", o.amsgrad);
  o.alpha = config.get("alpha", o.alpha);
  o.centered = config.get("centered", o.centered);
  o.lr_decay = config.get("lr_decay", o.lr_decay);
  o.initial_accumulator_value = config.get("initial_accumulator_value", o.initial_accumulator_value);
  if (config.contains("max_grad_norm")) o.max_grad_norm = config.get_optional<double>("max_grad_norm");
  o.trust_clip = config.get("trust_clip", o.trust_clip);
  o.always_adapt = config.get("always_adapt", o.always_adapt);
  o.bias_correction = config.get("bias_correction", o.bias_correction);
  o.grad_averaging = config.get("grad_averaging", o.grad_averaging);
  o.filter_bias_and_bn = config.get("filter_bias_and_bn", o.filter_bias_and_bn);
  o.no_weight_decay = config.get("no_weight_decay", o.no_weight_decay);
  config.expect_all_used();
  return o;
}

}  // namespace autotimm
