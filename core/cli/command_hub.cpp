// autotimm hub: search the Hugging Face Hub, show a model's info, download a model into the shared cache.
#include <iostream>

#include <boost/json.hpp>

#include "autotimm/hub.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

boost::json::object to_json(const HubModelInfo& model) {
  boost::json::array tags, files;
  for (const auto& tag : model.tags) tags.push_back(boost::json::string(tag));
  for (const auto& file : model.files) files.push_back(boost::json::string(file));
  boost::json::object out{{"id", model.id},       {"downloads", model.downloads}, {"likes", model.likes},
                          {"tags", std::move(tags)}, {"last_modified", model.last_modified},
                          {"pipeline_tag", model.pipeline_tag}};
  if (!model.files.empty()) out["files"] = std::move(files);
  return out;
}

std::int64_t parse_limit(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used == text.size() && value > 0) return value;
  } catch (const std::exception&) {
  }
  throw UsageError("--limit expects a positive integer, got '" + text + "'");
}

int run_search(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {"--author", "--tag", "--library", "--sort", "--limit"});
  if (line.positional().size() > 1) throw UsageError("expected at most one search text");
  HubSearchQuery query = timm_hub_query();
  if (!line.positional().empty()) query.model_name = line.positional().front();
  if (auto v = line.option("--author")) query.author = *v;
  if (auto v = line.option("--tag")) query.tag = *v;
  if (auto v = line.option("--library")) query.library = *v;
  if (auto v = line.option("--sort")) query.sort = *v;
  if (auto v = line.option("--limit")) query.limit = parse_limit(*v);
  const auto models = search_hub(query);
  if (line.flag("--json")) {
    boost::json::array out;
    for (const auto& model : models) out.push_back(to_json(model));
    std::cout << boost::json::serialize(out) << "\n";
    return kExitOk;
  }
  for (const auto& model : models) {
    std::cout << "hf-hub:" << model.id << "  downloads " << model.downloads << ", likes " << model.likes << "\n";
  }
  return kExitOk;
}

int run_info(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {});
  if (line.positional().size() != 1) throw UsageError("expected one model id, e.g. timm/resnet50.a1_in1k[@revision]");
  const auto model = hub_model_info(line.positional().front());
  if (line.flag("--json")) {
    std::cout << boost::json::serialize(to_json(model)) << "\n";
    return kExitOk;
  }
  std::cout << "id            " << model.id << "\ndownloads     " << model.downloads << "\nlikes         "
            << model.likes << "\npipeline_tag  " << model.pipeline_tag << "\nlast_modified " << model.last_modified
            << "\ntags          ";
  for (std::size_t i = 0; i < model.tags.size(); ++i) std::cout << (i ? ", " : "") << model.tags[i];
  std::cout << "\nfiles\n";
  for (const auto& file : model.files) std::cout << "  " << file << "\n";
  return kExitOk;
}

int run_download(const std::vector<std::string>& args) {
  CommandLine line(args, {}, {});
  if (line.positional().size() != 1) throw UsageError("expected one model id, e.g. timm/resnet50.a1_in1k[@revision]");
  std::cout << hub_download(line.positional().front()).string() << "\n";
  return kExitOk;
}

int run_cache_list(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {});
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");
  const auto models = hub_cached_models();
  if (line.flag("--json")) {
    boost::json::array out;
    for (const auto& model : models) {
      boost::json::object refs;
      for (const auto& [revision, commit] : model.refs) refs[revision] = commit;
      boost::json::array snapshots;
      for (const auto& commit : model.snapshots) snapshots.push_back(boost::json::string(commit));
      out.push_back(boost::json::object{{"repo_id", model.repo_id},
                                        {"folder", model.folder.string()},
                                        {"size_bytes", model.size_bytes},
                                        {"refs", std::move(refs)},
                                        {"snapshots", std::move(snapshots)}});
    }
    std::cout << boost::json::serialize(out) << "\n";
    return kExitOk;
  }
  for (const auto& model : models) {
    std::cout << model.repo_id << "  " << model.size_bytes << " bytes, " << model.snapshots.size() << " snapshot"
              << (model.snapshots.size() == 1 ? "" : "s");
    for (const auto& [revision, commit] : model.refs) std::cout << ", " << revision << " -> " << commit.substr(0, 12);
    std::cout << "\n";
  }
  return kExitOk;
}

int run_cache(const std::vector<std::string>& args) { return run_subcommand(args, {{"list", &run_cache_list}}); }

}  // namespace

int run_hub(const std::vector<std::string>& args) {
  return run_subcommand(args, {{"search", &run_search}, {"info", &run_info}, {"download", &run_download}, {"cache", &run_cache}});
}

}  // namespace autotimm::cli
