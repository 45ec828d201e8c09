#include "download.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>

#include "file_lock.hpp"
#include "hub_errors.hpp"
#include "digest/sha256.hpp"

namespace autotimm::hf {

namespace fs = std::filesystem;

namespace {

std::string subject_of(const FileRequest& request) {
  return "'" + request.filename + "' of '" + request.repo_id + "@" + request.revision + "'";
}

/// huggingface_hub's ETag normalisation: drop a weak `W/` prefix and the quotes.
std::string normalized_etag(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

FileDownloader::FileDownloader(const HubOptions& options, const HttpClient& client)
    : options_(options), client_(client), cache_(options.cache_dir) {}

std::string FileDownloader::resolve_url(const FileRequest& request) const {
  return options_.endpoint + "/" + request.repo_id + "/resolve/" + url_encode(request.revision) + "/" +
         url_encode(request.filename, "/");
}

std::optional<fs::path> FileDownloader::from_cache_only(const FileRequest& request, const std::string& why) const {
  const auto commit = cache_.commit_for(request.repo_id, request.revision);
  if (commit && cache_.known_missing(request.repo_id, *commit, request.filename)) return std::nullopt;
  if (auto file = cache_.cached_file(request.repo_id, request.revision, request.filename)) return file;
  throw NotFoundError("cannot find " + subject_of(request) + " in the hub cache '" + cache_.root().string() + "' (" +
                      why + (commit ? "" : "; no refs/" + request.revision + " for that repo") +
                      "); run once with network access, or turn offline mode off");
}

std::optional<fs::path> FileDownloader::fetch(const FileRequest& request) const {
  check_repo_id(request.repo_id);
  check_revision(request.revision);
  check_repo_filename(request.filename);
  if (options_.offline) return from_cache_only(request, "offline mode: HF_HUB_OFFLINE or the hub option 'offline' is set");
  if (is_commit_hash(request.revision)) {
    const fs::path snapshot = cache_.snapshot_path(request.repo_id, request.revision, request.filename);
    if (fs::exists(snapshot)) return snapshot;
  }

  // Step 1: metadata. Relative redirects (renamed repos) are followed; an absolute one points at the CDN.
  HttpRequest head{.method = "HEAD",
                   .url = resolve_url(request),
                   .headers = {"Accept-Encoding: identity"},
                   .timeout_s = options_.metadata_timeout_s};
  HttpResponse answer;
  try {
    answer = client_.fetch(head, options_.max_retries, /*absolute_redirects=*/false);
  } catch (const HttpTransportError& error) {
    if (const auto cached = cache_.cached_file(request.repo_id, request.revision, request.filename)) {
      spdlog::warn("hf hub: {}; using the cached copy of {}", error.what(), subject_of(request));
      return cached;
    }
    throw HubError("cannot download " + subject_of(request) + ": " + error.what() +
                   " (after retries); try again later, or set HF_HUB_OFFLINE=1 to use the cache only");
  }
  if (answer.status == 404 && answer.header("x-error-code") == "EntryNotFound") {
    if (const auto commit = answer.header("x-repo-commit"); commit && is_commit_hash(*commit)) {
      cache_.write_ref(request.repo_id, request.revision, *commit);
      cache_.mark_missing(request.repo_id, *commit, request.filename);
    }
    return std::nullopt;
  }
  if (answer.status >= 400) {
    if (is_retryable_status(answer.status)) {
      if (const auto cached = cache_.cached_file(request.repo_id, request.revision, request.filename)) return cached;
    }
    throw_hub_error(answer, request.repo_id, subject_of(request));
  }

  Metadata metadata;
  metadata.commit = answer.header("x-repo-commit").value_or("");
  metadata.etag = normalized_etag(answer.header("x-linked-etag").value_or(answer.header("etag").value_or("")));
  const bool redirected = answer.status >= 300 && answer.status < 400;
  const std::string size_text =
      answer.header("x-linked-size").value_or(redirected ? "" : answer.header("content-length").value_or(""));
  if (!is_commit_hash(metadata.commit) || metadata.etag.empty() || size_text.empty()) {
    throw HubError("cannot download " + subject_of(request) + ": the answer from " + answer.url +
                   " lacks X-Repo-Commit, ETag or size headers; HF_ENDPOINT may not point at a Hugging Face Hub, or a "
                   "proxy strips headers");
  }
  try {
    metadata.size = std::stoull(size_text);
  } catch (const std::exception&) {
    throw HubError("cannot download " + subject_of(request) + ": size header '" + size_text + "' is not a number");
  }
  // The blob name becomes a path: refuse anything that is not a plain file name.
  if (metadata.etag.find_first_of("/\\") != std::string::npos || metadata.etag.starts_with(".")) {
    throw HubError("cannot download " + subject_of(request) + ": ETag '" + metadata.etag +
                   "' is not a plain blob name; HF_ENDPOINT may not point at a Hugging Face Hub");
  }
  metadata.location =
      redirected ? client_.to_endpoint(resolve_location(answer.url, answer.header("location").value_or(answer.url)))
                 : answer.url;

  cache_.write_ref(request.repo_id, request.revision, metadata.commit);
  const fs::path snapshot = cache_.snapshot_path(request.repo_id, metadata.commit, request.filename);
  if (fs::exists(snapshot)) return snapshot;
  cache_.write_cachedir_tag();

  const fs::path blob = cache_.blob_path(request.repo_id, metadata.etag);
  fs::create_directories(blob.parent_path());
  {
    const FileLock lock(cache_.lock_path(request.repo_id, metadata.etag));
    if (options_.symlinks) {
      if (!fs::exists(blob)) download_blob(request, metadata, blob, blob);  // another process may have finished it
      cache_.link_snapshot(request.repo_id, metadata.commit, request.filename, metadata.etag);
    } else if (!fs::exists(snapshot)) {
      // HF_HUB_DISABLE_SYMLINKS, as huggingface_hub does it: a new file goes straight to snapshots/, an existing
      // blob is copied there.
      fs::create_directories(snapshot.parent_path());
      if (fs::exists(blob)) {
        const fs::path copy = snapshot.string() + ".copy.incomplete";
        fs::copy_file(blob, copy, fs::copy_options::overwrite_existing);
        fs::rename(copy, snapshot);
      } else {
        download_blob(request, metadata, blob, snapshot);
      }
    }
  }
  return snapshot;
}

void FileDownloader::download_blob(const FileRequest& request, const Metadata& metadata, const fs::path& blob,
                                   const fs::path& destination) const {
  // A shared `.incomplete` name (we hold the lock): a later process resumes what a killed one left.
  const fs::path incomplete = blob.string() + ".incomplete";
  std::uintmax_t written = fs::exists(incomplete) ? fs::file_size(incomplete) : 0;
  if (written > metadata.size) {
    fs::remove(incomplete);
    written = 0;
  }
  auto fail = [&](const std::string& why) -> void {
    throw HubError("cannot download " + subject_of(request) + " from " + metadata.location + ": " + why +
                   "; the partial file '" + incomplete.string() + "' is kept and resumed next time");
  };
  for (int attempt = 0;; ++attempt) {
    if (written == metadata.size && metadata.size > 0) break;
    HttpRequest get{.method = "GET", .url = metadata.location, .timeout_s = options_.download_timeout_s};
    if (written > 0) get.headers.push_back("Range: bytes=" + std::to_string(written) + "-");
    std::ofstream out;
    bool started = false;
    get.sink = [&](long status, std::string_view chunk) {
      if (!started) {
        started = true;
        // A 200 to a ranged request means the server ignored Range: start over.
        const bool restart = status == 200;
        if (restart) written = 0;
        out.open(incomplete, std::ios::binary | (restart ? std::ios::trunc : std::ios::app));
        if (!out) return false;
      }
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      written += chunk.size();
      return static_cast<bool>(out);
    };
    try {
      const HttpResponse answer = client_.fetch(get, 0);
      out.close();
      if (answer.status == 416) {  // our partial file is at or past the end: start over cleanly
        fs::remove(incomplete);
        written = 0;
      } else if (answer.status >= 400 && !is_retryable_status(answer.status)) {
        if (origin_of(answer.url) != origin_of(options_.endpoint)) throw_download_host_error(answer, subject_of(request));
        throw_hub_error(answer, request.repo_id, subject_of(request));
      } else if (answer.status < 300) {
        if (!started && metadata.size == 0) std::ofstream(incomplete, std::ios::binary | std::ios::trunc);
        break;
      }
      if (attempt >= options_.max_retries) fail("HTTP " + std::to_string(answer.status) + " after retries");
      client_.back_off(attempt, &answer);
    } catch (const HttpTransportError& error) {
      out.close();
      if (attempt >= options_.max_retries) fail(std::string(error.what()) + ", after retries");
      spdlog::warn("hf hub: download of {} interrupted at {} bytes; resuming", subject_of(request), written);
      client_.back_off(attempt, nullptr);
    }
  }

  const std::uintmax_t got = fs::exists(incomplete) ? fs::file_size(incomplete) : 0;
  if (got != metadata.size) {
    fs::remove(incomplete);  // wrong length: never resume from it
    throw HubError("cannot download " + subject_of(request) + ": consistency check failed, expected " +
                   std::to_string(metadata.size) + " bytes, got " + std::to_string(got) + "; retry the download");
  }
  if (is_sha256_hex(metadata.etag)) {
    if (const std::string actual = digest::sha256_of_file(incomplete); actual != metadata.etag) {
      fs::remove(incomplete);
      throw HubError("cannot download " + subject_of(request) + ": sha256 " + actual + " does not match the Hub's " +
                     metadata.etag + "; retry the download, or check HF_ENDPOINT / proxies");
    }
  }
  fs::permissions(incomplete,
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  fs::rename(incomplete, destination);
}

}  // namespace autotimm::hf
