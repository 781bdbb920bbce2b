#pragma once

#include "actiondialog.h"

class QTreeWidget;

namespace Swamp::Console {

// "Prune workers": remove the workers gone (disconnected or lost) for longer than a grace period,
// and free their enrollments. It lists first what would be pruned (a dry run of worker.prune,
// asked again when the grace period changes); Prune is enabled once the list is there.
class PruneWorkersDialog final : public ActionDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PruneWorkersDialog)

public:
    explicit PruneWorkersDialog(QWidget *parent = nullptr);

    QLineEdit *gracePeriodEdit() const { return m_gracePeriod; }
    QTreeWidget *preview() const { return m_preview; }
    QString previewText() const;
    // The grace period in ms; -1 while the text is not a duration.
    qint64 gracePeriodMs() const;
    // Asks for the dry run of the current grace period (the caller connects previewRequested
    // first).
    void refreshPreview() { validate(); }
    // The dry run's answer for gracePeriodMs(), or its error.
    void setPreview(qint64 gracePeriodMs, const Result<QJsonObject> &result);

Q_SIGNALS:
    // Asks for a dry run; the answer comes back through setPreview().
    void previewRequested(qint64 gracePeriodMs);

protected:
    bool isInputValid() const override;

private:
    void validate();

    QLineEdit *m_gracePeriod;
    QLabel *m_problem;
    QTreeWidget *m_preview;
    QLabel *m_previewText;
    qint64 m_previewFor = -1; // the grace period the preview shows
    int m_previewCount = 0;
};

} // namespace Swamp::Console
