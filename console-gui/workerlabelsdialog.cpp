#include "workerlabelsdialog.h"

#include <QFormLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>

namespace Swamp::Console {

WorkerLabelsDialog::WorkerLabelsDialog(const QString &worker, const Labels &current, QWidget *parent)
    : ActionDialog(tr("Labels of %1").arg(worker),
                   tr("The labels of worker '%1' decide which steps it takes. Changes apply to the next "
                      "steps; running ones go on.").arg(worker),
                   tr("&Apply"), Kind::Normal, parent)
    , m_worker(worker)
    , m_current(current)
    , m_labels(new QLineEdit(this))
    , m_problem(createProblemLabel(this))
    , m_change(new QLabel(this))
{
    QStringList pairs;
    for (auto it = current.begin(); it != current.end(); ++it)
        pairs << it.key() + u'=' + it.value();
    m_labels->setText(pairs.join(QStringLiteral(", ")));
    m_labels->setPlaceholderText(tr("k=v, k=v"));
    m_change->setWordWrap(true);
    form()->insertRow(0, tr("&Labels:"), m_labels);
    form()->insertRow(1, QString(), m_problem);
    form()->insertRow(2, QString(), m_change);
    connect(m_labels, &QLineEdit::textChanged, this, &WorkerLabelsDialog::validate);
    validate();
    m_labels->setFocus();
}

QJsonObject WorkerLabelsDialog::parameters() const
{
    const Labels wanted = parseLabelText(m_labels->text()).value_or(m_current);
    QJsonObject set;
    for (auto it = wanted.begin(); it != wanted.end(); ++it) {
        if (!m_current.contains(it.key()) || m_current.value(it.key()) != it.value())
            set.insert(it.key(), it.value());
    }
    QJsonArray remove;
    for (auto it = m_current.begin(); it != m_current.end(); ++it) {
        if (!wanted.contains(it.key()))
            remove.append(it.key());
    }
    QJsonObject parameters{{QStringLiteral("name"), m_worker}, {QStringLiteral("set"), set},
                           {QStringLiteral("remove"), remove}};
    if (!reason().isEmpty())
        parameters.insert(QStringLiteral("reason"), reason());
    return parameters;
}

bool WorkerLabelsDialog::isInputValid() const
{
    if (!parseLabelText(m_labels->text()))
        return false;
    const QJsonObject change = parameters();
    return !change.value(QStringLiteral("set")).toObject().isEmpty()
        || !change.value(QStringLiteral("remove")).toArray().isEmpty();
}

void WorkerLabelsDialog::validate()
{
    const auto parsed = parseLabelText(m_labels->text());
    showProblem(m_problem, parsed ? QString() : parsed.error().text());
    if (parsed) {
        const QJsonObject change = parameters();
        QStringList set;
        const QJsonObject setLabels = change.value(QStringLiteral("set")).toObject();
        for (auto it = setLabels.begin(); it != setLabels.end(); ++it)
            set << it.key() + u'=' + it.value().toString();
        QStringList removed;
        for (const QJsonValue &key : change.value(QStringLiteral("remove")).toArray())
            removed << key.toString();
        QStringList parts;
        if (!set.isEmpty())
            parts << tr("set %1").arg(set.join(QStringLiteral(", ")));
        if (!removed.isEmpty())
            parts << tr("remove %1").arg(removed.join(QStringLiteral(", ")));
        m_change->setText(parts.isEmpty() ? tr("No change yet.") : tr("Will %1.").arg(parts.join(tr("; "))));
    } else {
        m_change->clear();
    }
    updateAcceptButton();
}

} // namespace Swamp::Console
