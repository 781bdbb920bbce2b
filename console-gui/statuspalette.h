#pragma once

#include "model/worker.h"

#include <QColor>
#include <QCoreApplication>
#include <QIcon>
#include <QPalette>

namespace Swamp::Console {

// How states look: translated names, colours that stay readable on light and dark palettes,
// and icons from the style (so they follow the platform theme).
struct StatusPalette
{
    Q_DECLARE_TR_FUNCTIONS(StatusPalette)

public:
    static QString workerStatusText(WorkerStatus status);
    static QColor workerStatusColor(WorkerStatus status, const QPalette &palette);
    static QIcon workerStatusIcon(WorkerStatus status);
    // A worker's state as the tables show it: its status, or "paused" for a connected worker an
    // operator paused (`swamp worker pause`), as `swamp worker list` does.
    static bool showsPaused(const WorkerRecord &worker);
    static QString workerText(const WorkerRecord &worker);
    static QColor workerColor(const WorkerRecord &worker, const QPalette &palette);
    static QIcon workerIcon(const WorkerRecord &worker);

    // Token states as the orchestrator names them: unused, enrolled, expired, revoked.
    static QString tokenStateText(const QString &state);
    static QColor tokenStateColor(const QString &state, const QPalette &palette);
    static QIcon tokenStateIcon(const QString &state);

    // Step states as the orchestrator names them: queued, dispatched, running, succeeded, failed,
    // cancelled, timed_out.
    static QString stepStateText(const QString &state);
    static QColor stepStateColor(const QString &state, const QPalette &palette);
    static QIcon stepStateIcon(const QString &state);
    // Lease states: active, completed, failed, expired, cancelled.
    static QString leaseStateText(const QString &state);

    // A base colour adjusted for the palette: lighter on dark backgrounds.
    static QColor readable(const QColor &color, const QPalette &palette);
};

} // namespace Swamp::Console
