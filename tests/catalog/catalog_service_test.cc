// CatalogService through a real gRPC stub on an in-process channel: the
// handlers' authentication, status codes and response shapes. No Redis.
#include "services/catalog/catalog_service.h"

#include <memory>
#include <string>

#include "absl/time/civil_time.h"
#include "ecoact/v1/catalog.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/catalog/catalog.h"
#include "services/common/call_context.h"
#include "services/common/periods.h"
#include "services/common/tokens.h"
#include "tests/support/status_matchers.h"

namespace ecoact::catalog {
namespace {

using ::ecoact::test::IsOk;
using ::ecoact::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time Tokyo(int y, int m, int d, int hh, int mm = 0) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Tokyo", &zone));
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), zone);
}

class CatalogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto calendar = CityCalendar::Create("Asia/Tokyo");
    ASSERT_THAT(calendar, IsOk());
    auto catalog = Catalog::Parse(EmbeddedCatalogText(), *calendar);
    ASSERT_THAT(catalog, IsOk());
    catalog_ = std::make_unique<Catalog>(*std::move(catalog));
    auto tokens = TokenService::Create({{"k1", std::string(32, 'k')}}, "k1", "ecoact",
                                       absl::Hours(24 * 365));
    ASSERT_THAT(tokens, IsOk());
    tokens_ = std::make_unique<TokenService>(*std::move(tokens));
    auth_ = std::make_unique<Authenticator>(tokens_.get(), [this] { return now_; });
    service_ = std::make_unique<CatalogServiceImpl>(catalog_.get(), auth_.get(),
                                                    absl::Hours(24 * 7));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::CatalogService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    token_ = tokens_->Issue("citizen-1", v1::ROLE_CITIZEN, now_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<grpc::ClientContext> Signed() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token_);
    return context;
  }

  absl::Time now_ = Tokyo(2026, 11, 29, 12);
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<CatalogServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CatalogService::Stub> stub_;
  std::string token_;
};

TEST_F(CatalogServiceTest, EveryCallNeedsAToken) {
  grpc::ClientContext context;
  v1::ListActionTypesResponse list;
  EXPECT_THAT(stub_->ListActionTypes(&context, {}, &list),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  grpc::ClientContext context2;
  v1::GetFactorRequest get;
  get.set_action_type("clothing_reuse");
  v1::GetFactorResponse factor;
  EXPECT_THAT(stub_->GetFactor(&context2, get, &factor),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  grpc::ClientContext context3;
  v1::PreviewImpactRequest preview;
  v1::PreviewImpactResponse impact;
  EXPECT_THAT(stub_->PreviewImpact(&context3, preview, &impact),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(CatalogServiceTest, ListsEveryTypeWithTheFactorInForceNow) {
  v1::ListActionTypesResponse response;
  ASSERT_THAT(stub_->ListActionTypes(Signed().get(), {}, &response), IsOk());
  EXPECT_EQ(response.catalog_version(), catalog_->edition());
  ASSERT_EQ(response.action_types_size(), static_cast<int>(catalog_->types().size()));
  EXPECT_GE(response.action_types_size(), 11);
  for (const v1::ActionType& type : response.action_types()) {
    if (type.id() == "train_instead_of_car") {
      EXPECT_EQ(type.current_factor().version(), 2);
      EXPECT_EQ(type.current_factor().co2e_milligrams_per_unit(), 108'000);
    }
  }
  // Before the FY2026 change, v1 is the one in force.
  now_ = Tokyo(2026, 3, 31, 23, 59);
  token_ = tokens_->Issue("citizen-1", v1::ROLE_CITIZEN, now_);
  ASSERT_THAT(stub_->ListActionTypes(Signed().get(), {}, &response), IsOk());
  for (const v1::ActionType& type : response.action_types()) {
    if (type.id() == "train_instead_of_car") {
      EXPECT_EQ(type.current_factor().version(), 1);
    }
  }
}

TEST_F(CatalogServiceTest, GetFactorListsVersionsNewestFirst) {
  v1::GetFactorRequest request;
  request.set_action_type("train_instead_of_car");
  v1::GetFactorResponse response;
  ASSERT_THAT(stub_->GetFactor(Signed().get(), request, &response), IsOk());
  EXPECT_EQ(response.action_type().id(), "train_instead_of_car");
  std::vector<int> versions;
  for (const v1::Factor& factor : response.versions()) versions.push_back(factor.version());
  EXPECT_THAT(versions, ElementsAre(2, 1));
  EXPECT_TRUE(response.versions(1).has_valid_until());
  EXPECT_FALSE(response.versions(0).has_valid_until());

  request.set_action_type("teleport");
  EXPECT_THAT(stub_->GetFactor(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("unknown action type 'teleport'")));
  request.clear_action_type();
  EXPECT_THAT(stub_->GetFactor(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(CatalogServiceTest, PreviewImpactConvertsLikeTheCatalogue) {
  v1::PreviewImpactRequest request;
  request.set_action_type("clothing_reuse");
  request.set_quantity(3);
  request.set_unit(v1::UNIT_KILOGRAM);
  v1::PreviewImpactResponse response;
  ASSERT_THAT(stub_->PreviewImpact(Signed().get(), request, &response), IsOk());
  EXPECT_EQ(response.co2e_grams(), 39'702);
  EXPECT_EQ(response.points(), 30);
  EXPECT_EQ(response.quantity_milli(), 3000);
  EXPECT_EQ(response.factor().version(), 1);
  EXPECT_EQ(response.factor().display(), "13.234 kg CO2e/kg");
}

TEST_F(CatalogServiceTest, PreviewImpactUsesOccurredAtForTheVersionAndChecksTheWindow) {
  v1::PreviewImpactRequest request;
  request.set_action_type("bus_instead_of_car");
  request.set_quantity(10);
  v1::PreviewImpactResponse response;
  now_ = Tokyo(2026, 4, 3, 9);
  token_ = tokens_->Issue("citizen-1", v1::ROLE_CITIZEN, now_);
  request.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(Tokyo(2026, 3, 31, 18)));
  ASSERT_THAT(stub_->PreviewImpact(Signed().get(), request, &response), IsOk());
  EXPECT_EQ(response.factor().version(), 1);
  EXPECT_EQ(response.co2e_grams(), 640);

  request.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(Tokyo(2026, 3, 20, 18)));
  EXPECT_THAT(stub_->PreviewImpact(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("too far back")));
  request.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(now_ + absl::Hours(1)));
  EXPECT_THAT(stub_->PreviewImpact(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("in the future")));
  request.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(now_));
  request.mutable_occurred_at()->set_nanos(-1);
  EXPECT_THAT(stub_->PreviewImpact(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("nanos")));
}

TEST_F(CatalogServiceTest, PreviewImpactRejectsBadQuantitiesPrecisely) {
  v1::PreviewImpactRequest request;
  v1::PreviewImpactResponse response;
  request.set_action_type("plastic_bag_refused");
  request.set_quantity(2.5);
  EXPECT_THAT(stub_->PreviewImpact(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("whole")));
  request.set_quantity(3);
  request.set_unit(v1::UNIT_KILOGRAM);
  EXPECT_THAT(stub_->PreviewImpact(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("UNIT_ITEM")));
  request.set_action_type("nope");
  EXPECT_THAT(stub_->PreviewImpact(Signed().get(), request, &response),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

}  // namespace
}  // namespace ecoact::catalog
