#include "common/logging.h"

Q_LOGGING_CATEGORY(lcEnroll, "swamp.enroll", QtWarningMsg)
Q_LOGGING_CATEGORY(lcLease, "swamp.lease", QtWarningMsg)
Q_LOGGING_CATEGORY(lcWs, "swamp.ws", QtWarningMsg)
Q_LOGGING_CATEGORY(lcDb, "swamp.db", QtWarningMsg)
Q_LOGGING_CATEGORY(lcWorker, "swamp.worker", QtWarningMsg)
Q_LOGGING_CATEGORY(lcAdmin, "swamp.admin", QtWarningMsg)
