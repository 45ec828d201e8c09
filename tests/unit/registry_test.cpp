#include <gtest/gtest.h>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "autotimm/registry.hpp"

namespace autotimm {
namespace {

// Registry tests need no real backbone: an empty factory result is enough to exercise names and ranks.
BackboneEntry backbone(std::string name, Rank rank = Rank::standard) {
  return BackboneEntry{.name = std::move(name),
                       .factory = [](const Config&) { return std::shared_ptr<Backbone>(); },
                       .pretrained = {PretrainedCfg{.tag = "a1_in1k"}, PretrainedCfg{.tag = "tv_in1k"}},
                       .rank = rank};
}

Registrar registrar_for(const std::string& plugin) { return Registrar({plugin, "/plugins/lib" + plugin + ".so"}); }

void fill(Registry& registry) {
  Registrar r = registrar_for("resnet");
  for (const char* name : {"resnet101", "resnet18", "resnet50", "resnet152", "resnet34", "resnet18d", "seresnet50"}) {
    r.add(backbone(name));
  }
  registry.commit(r);
  Registrar v = registrar_for("vit");
  for (const char* name : {"vit_tiny_patch16_224", "vit_base_patch16_224", "deit_tiny_patch16_224"}) v.add(backbone(name));
  registry.commit(v);
}

TEST(Registry, ListsWithWildcardsInNaturalOrder) {
  Registry registry;
  fill(registry);
  EXPECT_EQ(registry.backbones().list("resnet*"),
            (std::vector<std::string>{"resnet18", "resnet18d", "resnet34", "resnet50", "resnet101", "resnet152"}));
  EXPECT_EQ(registry.backbones().list("*vit*"), (std::vector<std::string>{"vit_base_patch16_224", "vit_tiny_patch16_224"}));
  EXPECT_EQ(registry.backbones().list("*resnet50"), (std::vector<std::string>{"resnet50", "seresnet50"}));
  EXPECT_EQ(registry.backbones().list("nothing*"), (std::vector<std::string>{}));
  EXPECT_EQ(registry.backbones().size(), 10u);
  EXPECT_TRUE(registry.heads().list().empty());
}

TEST(Registry, FillsInSourceAndArchitecture) {
  Registry registry;
  fill(registry);
  const auto& entry = registry.backbones().get("resnet50");
  EXPECT_EQ(entry.source.plugin, "resnet");
  EXPECT_EQ(entry.source.library, "/plugins/libresnet.so");
  ASSERT_EQ(entry.pretrained.size(), 2u);
  EXPECT_EQ(entry.pretrained[0].architecture, "resnet50");
  EXPECT_EQ(entry.pretrained[1].tag, "tv_in1k");
}

TEST(Registry, UnknownNameSuggestsTheThreeClosest) {
  Registry registry;
  fill(registry);
  EXPECT_EQ(testing::error_text([&] { registry.backbones().get("resnet5"); }),
            "unknown backbone 'resnet5'; closest: resnet50, seresnet50, resnet18 (autotimm plugins lists every name)");
  EXPECT_EQ(testing::error_text([&] { registry.backbones().get("vit_tiny_patch16"); }).substr(0, 68),
            "unknown backbone 'vit_tiny_patch16'; closest: vit_tiny_patch16_224, ");
  EXPECT_THROW(registry.backbones().get("nope"), NotFoundError);
  EXPECT_EQ(testing::error_text([&] { registry.losses().get("focal"); }),
            "unknown loss 'focal': no loss is registered; check that its plugin is on AUTOTIMM_PLUGIN_PATH "
            "(autotimm plugins)");
}

TEST(Registry, DuplicateAtEqualRankNamesBothPluginsAndChangesNothing) {
  Registry registry;
  fill(registry);
  Registrar r = registrar_for("other");
  r.add(backbone("brand_new"));
  r.add(backbone("resnet50"));
  EXPECT_EQ(testing::error_text([&] { registry.commit(r); }),
            "backbone 'resnet50' is registered twice at rank standard: by plugin 'resnet' (/plugins/libresnet.so) and "
            "by plugin 'other' (/plugins/libother.so); remove one of them from the plugin path, or give one a "
            "different rank");
  EXPECT_FALSE(registry.backbones().contains("brand_new"));
  EXPECT_EQ(registry.backbones().get("resnet50").source.plugin, "resnet");
}

TEST(Registry, DuplicateWithinOnePluginIsRefused) {
  Registry registry;
  Registrar r = registrar_for("twice");
  r.add(backbone("a"));
  r.add(backbone("a"));
  EXPECT_EQ(testing::error_text([&] { registry.commit(r); }),
            "backbone 'a' is registered twice by plugin 'twice' (/plugins/libtwice.so); each name may be registered once");
  EXPECT_EQ(registry.backbones().size(), 0u);
}

TEST(Registry, HigherRankShadowsLowerInEitherOrder) {
  Registry registry;
  Registrar low = registrar_for("low");
  low.add(backbone("resnet50", Rank::fallback));
  Registrar high = registrar_for("high");
  high.add(backbone("resnet50", Rank::preferred));
  registry.commit(high);
  registry.commit(low);
  EXPECT_EQ(registry.backbones().get("resnet50").source.plugin, "high");
  ASSERT_EQ(registry.backbones().shadowed().size(), 1u);
  EXPECT_EQ(registry.backbones().shadowed()[0].source.plugin, "low");

  Registry reversed;
  Registrar low2 = registrar_for("low");
  low2.add(backbone("resnet50", Rank::fallback));
  Registrar high2 = registrar_for("high");
  high2.add(backbone("resnet50", Rank::preferred));
  reversed.commit(low2);
  reversed.commit(high2);
  EXPECT_EQ(reversed.backbones().get("resnet50").source.plugin, "high");
  EXPECT_EQ(reversed.backbones().shadowed()[0].source.plugin, "low");
}

TEST(Registry, RefusesAnEntryWithoutFactoryOrName) {
  Registry registry;
  Registrar r = registrar_for("broken");
  r.add(HeadEntry{.name = "classification", .factory = nullptr});
  EXPECT_EQ(testing::error_text([&] { registry.commit(r); }),
            "cannot register head 'classification' from plugin 'broken' (/plugins/libbroken.so): its factory is empty");
  Registrar unnamed = registrar_for("unnamed");
  unnamed.add(LossEntry{.name = "", .factory = [](const Config&) { return std::shared_ptr<Loss>(); }});
  EXPECT_THROW(registry.commit(unnamed), PluginError);
}

TEST(Registry, KeepsOneTablePerKind) {
  Registry registry;
  Registrar r = registrar_for("multi");
  r.add(HeadEntry{.name = "same", .factory = [](const Config&) { return std::shared_ptr<Head>(); }});
  r.add(LossEntry{.name = "same", .factory = [](const Config&) { return std::shared_ptr<Loss>(); }});
  r.add(HubResolverEntry{.name = "hf-hub",
                         .factory = [](const Config&) { return std::shared_ptr<HubResolver>(); },
                         .prefixes = {"hf-hub:", "hf_hub:", "timm/"}});
  const auto added = registry.commit(r);
  ASSERT_EQ(added.size(), 3u);
  EXPECT_EQ(added[0].kind, "head");
  EXPECT_EQ(added[1].kind, "loss");
  EXPECT_EQ(added[2].kind, "hub resolver");
  EXPECT_TRUE(registry.heads().contains("same"));
  EXPECT_TRUE(registry.losses().contains("same"));
  EXPECT_EQ(registry.hub_resolvers().get("hf-hub").prefixes.size(), 3u);
}

}  // namespace
}  // namespace autotimm
