#include "dp/api/counters.h"

namespace sluice::dp {

const char* const kWorkerEventNames[kWorkerEventCount] = {
#define SLUICE_X(name, help) #name,
    SLUICE_WORKER_EVENTS(SLUICE_X)
#undef SLUICE_X
};

const char* const kWorkerEventHelp[kWorkerEventCount] = {
#define SLUICE_X(name, help) help,
    SLUICE_WORKER_EVENTS(SLUICE_X)
#undef SLUICE_X
};

const char* const kDropNames[kDropCount] = {"none",
#define SLUICE_X(name, help) #name,
                                            SLUICE_DROP_REASONS(SLUICE_X)
#undef SLUICE_X
};

const char* const kDropHelp[kDropCount] = {"not dropped",
#define SLUICE_X(name, help) help,
                                           SLUICE_DROP_REASONS(SLUICE_X)
#undef SLUICE_X
};

}  // namespace sluice::dp
