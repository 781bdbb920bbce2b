#include "statuspalette.h"

#include <QApplication>
#include <QStyle>

namespace Swamp::Console {

QString StatusPalette::workerStatusText(WorkerStatus status)
{
    switch (status) {
    case WorkerStatus::Idle: return tr("idle");
    case WorkerStatus::Busy: return tr("busy");
    case WorkerStatus::Draining: return tr("draining");
    case WorkerStatus::Disconnected: return tr("disconnected");
    case WorkerStatus::Lost: return tr("lost");
    }
    return {};
}

QColor StatusPalette::readable(const QColor &color, const QPalette &palette)
{
    const bool dark = palette.color(QPalette::Base).lightness() < 128;
    return dark ? color.lighter(170) : color;
}

QColor StatusPalette::workerStatusColor(WorkerStatus status, const QPalette &palette)
{
    switch (status) {
    case WorkerStatus::Idle: return readable(QColor(0x1b, 0x7f, 0x37), palette);
    case WorkerStatus::Busy: return readable(QColor(0x0b, 0x5c, 0xad), palette);
    case WorkerStatus::Draining: return readable(QColor(0x9a, 0x5b, 0x00), palette);
    case WorkerStatus::Disconnected: return palette.color(QPalette::Disabled, QPalette::Text);
    case WorkerStatus::Lost: return readable(QColor(0xb3, 0x1d, 0x1d), palette);
    }
    return palette.color(QPalette::Text);
}

QIcon StatusPalette::workerStatusIcon(WorkerStatus status)
{
    QStyle *style = QApplication::style();
    switch (status) {
    case WorkerStatus::Idle: return style->standardIcon(QStyle::SP_DialogApplyButton);
    case WorkerStatus::Busy: return style->standardIcon(QStyle::SP_MediaPlay);
    case WorkerStatus::Draining: return style->standardIcon(QStyle::SP_ArrowDown);
    case WorkerStatus::Disconnected: return style->standardIcon(QStyle::SP_MediaStop);
    case WorkerStatus::Lost: return style->standardIcon(QStyle::SP_MessageBoxCritical);
    }
    return {};
}

bool StatusPalette::showsPaused(const WorkerRecord &worker)
{
    return worker.paused
        && (worker.status == WorkerStatus::Idle || worker.status == WorkerStatus::Busy
            || worker.status == WorkerStatus::Draining);
}

QString StatusPalette::workerText(const WorkerRecord &worker)
{
    return showsPaused(worker) ? tr("paused") : workerStatusText(worker.status);
}

QColor StatusPalette::workerColor(const WorkerRecord &worker, const QPalette &palette)
{
    return showsPaused(worker) ? readable(QColor(0x7b, 0x3f, 0xa0), palette)
                               : workerStatusColor(worker.status, palette);
}

QIcon StatusPalette::workerIcon(const WorkerRecord &worker)
{
    return showsPaused(worker) ? QApplication::style()->standardIcon(QStyle::SP_MediaPause)
                               : workerStatusIcon(worker.status);
}

QString StatusPalette::tokenStateText(const QString &state)
{
    if (state == u"unused")
        return tr("unused");
    if (state == u"enrolled")
        return tr("enrolled");
    if (state == u"expired")
        return tr("expired");
    if (state == u"revoked")
        return tr("revoked");
    return state;
}

QColor StatusPalette::tokenStateColor(const QString &state, const QPalette &palette)
{
    if (state == u"unused")
        return readable(QColor(0x0b, 0x5c, 0xad), palette);
    if (state == u"enrolled")
        return readable(QColor(0x1b, 0x7f, 0x37), palette);
    if (state == u"revoked")
        return readable(QColor(0xb3, 0x1d, 0x1d), palette);
    return palette.color(QPalette::Disabled, QPalette::Text);
}

QIcon StatusPalette::tokenStateIcon(const QString &state)
{
    QStyle *style = QApplication::style();
    if (state == u"unused")
        return style->standardIcon(QStyle::SP_FileIcon);
    if (state == u"enrolled")
        return style->standardIcon(QStyle::SP_DialogApplyButton);
    if (state == u"revoked")
        return style->standardIcon(QStyle::SP_DialogCancelButton);
    return style->standardIcon(QStyle::SP_MessageBoxWarning);
}

QString StatusPalette::stepStateText(const QString &state)
{
    if (state == u"queued")
        return tr("queued");
    if (state == u"dispatched")
        return tr("dispatched");
    if (state == u"running")
        return tr("running");
    if (state == u"succeeded")
        return tr("succeeded");
    if (state == u"failed")
        return tr("failed");
    if (state == u"cancelled")
        return tr("cancelled");
    if (state == u"timed_out")
        return tr("timed out");
    return state;
}

QColor StatusPalette::stepStateColor(const QString &state, const QPalette &palette)
{
    if (state == u"queued")
        return readable(QColor(0x9a, 0x5b, 0x00), palette);
    if (state == u"dispatched" || state == u"running")
        return readable(QColor(0x0b, 0x5c, 0xad), palette);
    if (state == u"succeeded")
        return readable(QColor(0x1b, 0x7f, 0x37), palette);
    if (state == u"failed" || state == u"timed_out")
        return readable(QColor(0xb3, 0x1d, 0x1d), palette);
    return palette.color(QPalette::Disabled, QPalette::Text);
}

QIcon StatusPalette::stepStateIcon(const QString &state)
{
    QStyle *style = QApplication::style();
    if (state == u"queued")
        return style->standardIcon(QStyle::SP_ArrowRight);
    if (state == u"dispatched")
        return style->standardIcon(QStyle::SP_MediaSeekForward);
    if (state == u"running")
        return style->standardIcon(QStyle::SP_MediaPlay);
    if (state == u"succeeded")
        return style->standardIcon(QStyle::SP_DialogApplyButton);
    if (state == u"failed")
        return style->standardIcon(QStyle::SP_MessageBoxCritical);
    if (state == u"timed_out")
        return style->standardIcon(QStyle::SP_MessageBoxWarning);
    return style->standardIcon(QStyle::SP_DialogCancelButton);
}

QString StatusPalette::leaseStateText(const QString &state)
{
    if (state == u"active")
        return tr("active");
    if (state == u"completed")
        return tr("completed");
    if (state == u"failed")
        return tr("failed");
    if (state == u"expired")
        return tr("expired");
    if (state == u"cancelled")
        return tr("cancelled");
    return state;
}

} // namespace Swamp::Console
