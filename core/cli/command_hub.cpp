// autotimm hub: search the Hugging Face Hub, show a model's info, download a model into the shared cache, upload a
// folder (an `autotimm export` output) as one commit.
#include <iostream>

#include <boost/json.hpp>

#include "autotimm/hub.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

boost::json::array to_json(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& item : items) out.push_back(boost::json::string(item));
  return out;
}

boost::json::object to_json(const HubModelInfo& model) {
  boost::json::object out{{"id", model.id},       {"downloads", model.downloads}, {"likes", model.likes},
                          {"tags", to_json(model.tags)}, {"last_modified", model.last_modified},
                          {"pipeline_tag", model.pipeline_tag}};
  if (!model.sha.empty()) out["sha"] = model.sha;
  if (!model.author.empty()) out["author"] = model.author;
  if (!model.library_name.empty()) out["library_name"] = model.library_name;
  if (!model.gated.empty()) out["gated"] = model.gated;
  if (!model.files.empty()) out["files"] = to_json(model.files);
  if (model.card) {
    out["card"] = boost::json::object{{"license", to_json(model.card->license)},
                                      {"library_name", model.card->library_name},
                                      {"datasets", to_json(model.card->datasets)},
                                      {"metrics", to_json(model.card->metrics)},
                                      {"tags", to_json(model.card->tags)},
                                      {"base_model", to_json(model.card->base_model)}};
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "-" : out;
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
  std::cout << "id            " << model.id << "\nsha           " << model.sha << "\ndownloads     " << model.downloads
            << "\nlikes         " << model.likes << "\npipeline_tag  " << model.pipeline_tag << "\nlast_modified "
            << model.last_modified << "\ntags          " << joined(model.tags) << "\n";
  if (!model.gated.empty()) std::cout << "gated         " << model.gated << " (set HF_TOKEN to download)\n";
  if (model.card) {
    std::cout << "model card\n  license     " << joined(model.card->license) << "\n  datasets    "
              << joined(model.card->datasets) << "\n  metrics     " << joined(model.card->metrics)
              << "\n  tags        " << joined(model.card->tags) << "\n";
    if (!model.card->base_model.empty()) std::cout << "  base_model  " << joined(model.card->base_model) << "\n";
  }
  std::cout << "files\n";
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

void print_removal(const HubCacheRemoval& removal, bool dry_run, bool as_json) {
  if (as_json) {
    boost::json::array removed, in_use;
    for (const auto& path : removal.removed) removed.push_back(boost::json::string(path.string()));
    for (const auto& path : removal.in_use) in_use.push_back(boost::json::string(path.string()));
    std::cout << boost::json::serialize(boost::json::object{{"dry_run", dry_run},
                                                            {"removed", std::move(removed)},
                                                            {"freed_bytes", removal.freed_bytes},
                                                            {"in_use", std::move(in_use)}})
              << "\n";
    return;
  }
  for (const auto& path : removal.removed) std::cout << (dry_run ? "would remove " : "removed ") << path.string() << "\n";
  for (const auto& path : removal.in_use) std::cout << "kept (a download is using it) " << path.string() << "\n";
  std::cout << (dry_run ? "would free " : "freed ") << removal.freed_bytes << " bytes\n";
}

int run_cache_prune(const std::vector<std::string>& args) {
  CommandLine line(args, {"--detached", "--dry-run", "--json"}, {});
  if (line.positional().size() > 1) throw UsageError("expected at most one repo id, e.g. timm/resnet50.a1_in1k");
  HubCachePruneOptions options{.detached_snapshots = line.flag("--detached"), .dry_run = line.flag("--dry-run")};
  if (!line.positional().empty()) options.repo_id = parse_hub_name(line.positional().front()).repo_id;
  print_removal(hub_prune_cache(options), options.dry_run, line.flag("--json"));
  return kExitOk;
}

int run_cache_rm(const std::vector<std::string>& args) {
  CommandLine line(args, {"--dry-run", "--json"}, {});
  if (line.positional().size() != 1) throw UsageError("expected one model id, e.g. timm/resnet50.a1_in1k[@revision]");
  const bool dry_run = line.flag("--dry-run");
  print_removal(hub_remove_cached(line.positional().front(), dry_run), dry_run, line.flag("--json"));
  return kExitOk;
}

int run_upload(const std::vector<std::string>& args) {
  CommandLine line(args, {"--private", "--create", "--json"}, {"--revision", "--message", "--description"});
  if (line.positional().size() != 2) {
    throw UsageError("expected a folder and a repo id, e.g. autotimm hub upload export/ my-org/my-model");
  }
  const HubUploadOptions options{.revision = line.option("--revision").value_or("main"),
                                 .message = line.option("--message").value_or(""),
                                 .description = line.option("--description").value_or(""),
                                 .private_repo = line.flag("--private"),
                                 .create_repo = line.flag("--create")};
  if (options.private_repo && !options.create_repo) {
    throw UsageError("--private applies to a repo --create makes; change an existing repo's visibility on the Hub");
  }
  const auto result = hub_upload_folder(line.positional()[0], line.positional()[1], options);
  if (line.flag("--json")) {
    std::cout << boost::json::serialize(boost::json::object{{"commit_oid", result.commit_oid},
                                                            {"commit_url", result.commit_url},
                                                            {"created_repo", result.created_repo},
                                                            {"regular_files", to_json(result.regular_files)},
                                                            {"lfs_files", to_json(result.lfs_files)},
                                                            {"lfs_skipped", to_json(result.lfs_skipped)}})
              << "\n";
    return kExitOk;
  }
  if (result.created_repo) std::cout << "created " << parse_hub_name(line.positional()[1]).repo_id << "\n";
  std::cout << "uploaded " << result.regular_files.size() + result.lfs_files.size() << " files ("
            << result.lfs_files.size() << " through LFS";
  if (!result.lfs_skipped.empty()) std::cout << ", " << result.lfs_skipped.size() << " already on the Hub";
  std::cout << ")\ncommit " << result.commit_oid << "\n" << result.commit_url << "\n";
  return kExitOk;
}

int run_cache(const std::vector<std::string>& args) {
  return run_subcommand(args, {{"list", &run_cache_list}, {"prune", &run_cache_prune}, {"rm", &run_cache_rm}});
}

}  // namespace

int run_hub(const std::vector<std::string>& args) {
  return run_subcommand(args, {{"search", &run_search}, {"info", &run_info}, {"download", &run_download},
                               {"upload", &run_upload}, {"cache", &run_cache}});
}

}  // namespace autotimm::cli
