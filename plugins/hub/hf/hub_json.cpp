// The Hub's JSON answers into HubModelInfo, tolerating missing and unknown fields (docs/hub.md §2.3, §2.4).
#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "hf_resolver.hpp"

namespace autotimm::hf {

namespace json = boost::json;

namespace {

std::string string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::int64_t int_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->as_uint64());
  return 0;
}

/// A card field that may be one string or a list of strings (YAML front matter allows both).
std::vector<std::string> strings_field(const json::object& object, std::string_view key) {
  std::vector<std::string> out;
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return out;
  if (value->is_string()) out.emplace_back(value->as_string());
  if (value->is_array()) {
    for (const json::value& item : value->as_array()) {
      if (item.is_string()) out.emplace_back(item.as_string());
    }
  }
  return out;
}

HubModelCard card_from(const json::object& card_data) {
  return HubModelCard{.license = strings_field(card_data, "license"),
                      .library_name = string_field(card_data, "library_name"),
                      .datasets = strings_field(card_data, "datasets"),
                      .metrics = strings_field(card_data, "metrics"),
                      .tags = strings_field(card_data, "tags"),
                      .base_model = strings_field(card_data, "base_model")};
}

HubModelInfo info_from(const json::object& object) {
  HubModelInfo info;
  info.id = string_field(object, "id");
  if (info.id.empty()) info.id = string_field(object, "modelId");
  info.author = string_field(object, "author");
  info.sha = string_field(object, "sha");
  info.library_name = string_field(object, "library_name");
  info.gated = string_field(object, "gated");  // false (a bool) when open: stays empty
  if (const json::value* card = object.if_contains("cardData"); card != nullptr && card->is_object()) {
    info.card = card_from(card->as_object());
  }
  info.downloads = int_field(object, "downloads");
  info.likes = int_field(object, "likes");
  info.last_modified = string_field(object, "lastModified");
  info.pipeline_tag = string_field(object, "pipeline_tag");
  if (const json::value* tags = object.if_contains("tags"); tags != nullptr && tags->is_array()) {
    for (const json::value& tag : tags->as_array()) {
      if (tag.is_string()) info.tags.emplace_back(tag.as_string());
    }
  }
  if (const json::value* siblings = object.if_contains("siblings"); siblings != nullptr && siblings->is_array()) {
    for (const json::value& sibling : siblings->as_array()) {
      if (!sibling.is_object()) continue;
      if (std::string name = string_field(sibling.as_object(), "rfilename"); !name.empty()) {
        info.files.push_back(std::move(name));
      }
    }
  }
  return info;
}

json::value parse(const std::string& json_text, const std::string& where) {
  boost::system::error_code error;
  json::value value = json::parse(json_text, error);
  if (error) {
    throw FormatError("cannot read the Hub's answer from " + where + ": malformed JSON (" + error.message() +
                      "); HF_ENDPOINT may not point at a Hugging Face Hub, or a proxy altered the answer");
  }
  return value;
}

}  // namespace

HubModelInfo parse_model_info(const std::string& json_text, const std::string& where) {
  const json::value value = parse(json_text, where);
  if (!value.is_object()) {
    throw FormatError("cannot read the Hub's answer from " + where + ": expected a JSON object, got " +
                      std::string(json::to_string(value.kind())) + "; check HF_ENDPOINT");
  }
  return info_from(value.as_object());
}

std::vector<HubModelInfo> parse_model_list(const std::string& json_text, const std::string& where) {
  const json::value value = parse(json_text, where);
  if (!value.is_array()) {
    throw FormatError("cannot read the Hub's answer from " + where + ": expected a JSON array, got " +
                      std::string(json::to_string(value.kind())) + "; check HF_ENDPOINT");
  }
  std::vector<HubModelInfo> models;
  for (const json::value& entry : value.as_array()) {
    if (entry.is_object()) models.push_back(info_from(entry.as_object()));
  }
  return models;
}

std::string next_page_url(const std::string& link_header) {
  // Link: <url1>; rel="next", <url2>; rel="last"
  std::size_t start = 0;
  while ((start = link_header.find('<', start)) != std::string::npos) {
    const std::size_t end = link_header.find('>', start);
    if (end == std::string::npos) break;
    const std::size_t next_entry = link_header.find('<', end);
    const std::string params =
        link_header.substr(end + 1, next_entry == std::string::npos ? std::string::npos : next_entry - end - 1);
    if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos) {
      return link_header.substr(start + 1, end - start - 1);
    }
    start = end;
  }
  return {};
}

}  // namespace autotimm::hf
