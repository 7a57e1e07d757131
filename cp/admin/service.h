// The admin API's handlers: each converts its request (cp/admin/convert.h),
// runs the operation on the control thread and maps the outcome to a gRPC
// status. Reusable by any gRPC server; AdminServer is sluiced's.
#pragma once

#include "cp/admin/backend.h"
#include "cp/control_queue.h"
#include "sluice/admin/v1/admin.grpc.pb.h"

namespace sluice::cp::admin {

namespace v1 = ::sluice::admin::v1;

class AdminService final : public v1::Admin::Service {
 public:
  AdminService(ControlQueue& queue, AdminBackend& backend) : queue_(queue), backend_(backend) {}

  grpc::Status UpsertService(grpc::ServerContext* context, const v1::UpsertServiceRequest* request,
                             v1::ChangeResponse* response) override;
  grpc::Status DeleteService(grpc::ServerContext* context, const v1::DeleteServiceRequest* request,
                             v1::ChangeResponse* response) override;
  grpc::Status GetService(grpc::ServerContext* context, const v1::GetServiceRequest* request,
                          v1::Service* response) override;
  grpc::Status ListServices(grpc::ServerContext* context, const v1::ListServicesRequest* request,
                            v1::ListServicesResponse* response) override;
  grpc::Status AddEndpoint(grpc::ServerContext* context, const v1::AddEndpointRequest* request,
                           v1::ChangeResponse* response) override;
  grpc::Status RemoveEndpoint(grpc::ServerContext* context,
                              const v1::RemoveEndpointRequest* request,
                              v1::ChangeResponse* response) override;
  grpc::Status SetEndpoint(grpc::ServerContext* context, const v1::SetEndpointRequest* request,
                           v1::ChangeResponse* response) override;
  grpc::Status Reload(grpc::ServerContext* context, const v1::ReloadRequest* request,
                      v1::ReloadResponse* response) override;
  grpc::Status ValidateConfig(grpc::ServerContext* context,
                              const v1::ValidateConfigRequest* request,
                              v1::ValidateConfigResponse* response) override;
  grpc::Status GetStats(grpc::ServerContext* context, const v1::StatsRequest* request,
                        v1::Stats* response) override;
  grpc::Status ListFlows(grpc::ServerContext* context, const v1::ListFlowsRequest* request,
                         v1::ListFlowsResponse* response) override;

 private:
  // Runs `task` on the control thread; UNAVAILABLE once sluiced stops.
  template <class Task>
  grpc::Status onControl(Task task);
  // Runs an edit on the control thread and answers with its outcome.
  template <class Edit>
  grpc::Status change(Edit edit, v1::ChangeResponse* response);

  ControlQueue& queue_;
  AdminBackend& backend_;
};

}  // namespace sluice::cp::admin
