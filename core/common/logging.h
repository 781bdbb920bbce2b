#pragma once

#include <QLoggingCategory>

// Developer logging. Enable with QT_LOGGING_RULES="swamp.*.debug=true".
// Operator events (worker enrolled, token revoked, ...) go through Swamp::EventLog instead.
Q_DECLARE_LOGGING_CATEGORY(lcEnroll)
Q_DECLARE_LOGGING_CATEGORY(lcLease)
Q_DECLARE_LOGGING_CATEGORY(lcWs)
Q_DECLARE_LOGGING_CATEGORY(lcDb)
Q_DECLARE_LOGGING_CATEGORY(lcWorker)
Q_DECLARE_LOGGING_CATEGORY(lcAdmin)
