// gRPC handlers of ecoact.v1.IdentityService: thin adapters over the domain
// rules in accounts.h and the AccountStore.
#pragma once

#include "ecoact/v1/identity.grpc.pb.h"
#include "services/common/call_context.h"
#include "services/identity/account_store.h"
#include "services/identity/accounts.h"

namespace ecoact::identity {

struct IdentityOptions {
  // Key under which citizen credentials are derived from request ids.
  std::string credential_key;
  // PBKDF2 iterations for staff/admin passwords (citizen secrets are random
  // 256-bit values and need no stretching beyond kCitizenSecretIterations).
  int password_iterations = 100000;
};

inline constexpr int kCitizenSecretIterations = 1000;

class IdentityServiceImpl final : public v1::IdentityService::Service {
 public:
  IdentityServiceImpl(AccountStore* store, const Authenticator* auth,
                      const WardDirectory* wards, IdentityOptions options);

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status SignIn(grpc::ServerContext* context, const v1::SignInRequest* request,
                      v1::SignInResponse* response) override;
  grpc::Status GetMyProfile(grpc::ServerContext* context, const v1::GetMyProfileRequest* request,
                            v1::Profile* response) override;
  grpc::Status UpdateMyProfile(grpc::ServerContext* context,
                               const v1::UpdateMyProfileRequest* request,
                               v1::Profile* response) override;
  grpc::Status CreateStaff(grpc::ServerContext* context, const v1::CreateStaffRequest* request,
                           v1::Profile* response) override;
  grpc::Status ListWards(grpc::ServerContext* context, const v1::ListWardsRequest* request,
                         v1::ListWardsResponse* response) override;

 private:
  absl::Status DoRegister(const v1::RegisterRequest& request, v1::RegisterResponse* response);
  absl::Status DoSignIn(const v1::SignInRequest& request, v1::SignInResponse* response);
  absl::Status DoUpdate(const grpc::ServerContext& context,
                        const v1::UpdateMyProfileRequest& request, v1::Profile* response);
  absl::Status DoCreateStaff(const grpc::ServerContext& context,
                             const v1::CreateStaffRequest& request, v1::Profile* response);
  absl::Status LoadProfile(absl::string_view id, v1::Profile* response);

  AccountStore* store_;
  const Authenticator* auth_;
  const WardDirectory* wards_;
  IdentityOptions options_;
  std::string dummy_hash_;
};

// Creates the first admin account if it does not exist yet; an existing
// account of that login is left as it is.
absl::Status EnsureAdmin(AccountStore* store, absl::string_view login, absl::string_view password,
                         int iterations, absl::Time now);

void ToProfileProto(const AccountRecord& record, v1::Profile* profile);

}  // namespace ecoact::identity
