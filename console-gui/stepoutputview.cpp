#include "stepoutputview.h"

#include "client/adminsession.h"
#include "model/step.h"
#include "statuspalette.h"

#include <QCheckBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextCharFormat>
#include <QTextCursor>
#include <QVBoxLayout>

namespace Swamp::Console {

StepOutputView::StepOutputView(AdminSession *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_text(new QPlainTextEdit(this))
    , m_follow(new QCheckBox(tr("Fo&llow"), this))
    , m_status(new QLabel(this))
{
    m_text->setReadOnly(true);
    m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setMaximumBlockCount(200000);
    m_text->setPlaceholderText(tr("Select a step to see its output."));
    m_follow->setChecked(true);
    m_follow->setToolTip(tr("Keep the view scrolled to the newest output"));
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    connect(m_follow, &QCheckBox::toggled, this, [this](bool on) {
        if (on)
            m_text->verticalScrollBar()->setValue(m_text->verticalScrollBar()->maximum());
    });
    connect(m_session, &AdminSession::frameReceived, &m_follower, &StepFollower::handleFrame);
    connect(&m_follower, &StepFollower::output, this, &StepOutputView::appendChunk);
    connect(&m_follower, &StepFollower::stepUpdated, this, [this] { updateStatus(); });
    connect(&m_follower, &StepFollower::ended, this, [this] {
        m_following = false;
        updateStatus();
    });
    // After a reconnect the orchestrator has forgotten us: follow again after the last chunk.
    connect(m_session, &AdminSession::sessionStarted, this, [this] {
        if (!m_stepId.isEmpty() && !m_follower.isEnded(m_stepId))
            follow();
    });

    auto *top = new QHBoxLayout;
    top->addWidget(m_status, 1);
    top->addWidget(m_follow);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(m_text, 1);
    updateStatus();
}

void StepOutputView::setStep(const QString &stepId)
{
    if (stepId == m_stepId)
        return;
    m_stepId = stepId;
    m_follower.clear();
    m_following = false;
    m_text->clear();
    if (!m_stepId.isEmpty()) {
        m_follower.follow(m_stepId);
        follow();
    }
    updateStatus();
}

QString StepOutputView::text() const
{
    return m_text->toPlainText();
}

QString StepOutputView::statusText() const
{
    return m_status->text();
}

void StepOutputView::follow()
{
    const quint64 generation = ++m_generation;
    m_following = true;
    updateStatus();
    m_session->request(QStringLiteral("run.follow"),
                       {{QStringLiteral("id"), m_stepId}, {QStringLiteral("after"), m_follower.lastChunk(m_stepId)}}, this,
                       [this, generation](const Result<QJsonObject> &result) {
        if (generation != m_generation)
            return;
        if (!result) {
            m_following = false;
            m_status->setText(tr("Cannot follow the output: %1").arg(result.error().text()));
            return;
        }
        m_follower.handleStep(result->value(QStringLiteral("step")).toObject());
    });
}

void StepOutputView::appendChunk(const QString &, const QJsonObject &chunk, bool newAttempt)
{
    QScrollBar *bar = m_text->verticalScrollBar();
    const bool keepAtEnd = m_follow->isChecked();
    const int scrolledTo = bar->value();

    QTextCursor cursor(m_text->document());
    cursor.movePosition(QTextCursor::End);
    if (newAttempt) {
        const int attempt = chunk.value(QStringLiteral("attempt")).toInt();
        QTextCharFormat marker;
        marker.setForeground(palette().color(QPalette::Disabled, QPalette::Text));
        marker.setFontItalic(true);
        if (!m_text->document()->isEmpty() && !m_text->toPlainText().endsWith(u'\n'))
            cursor.insertText(QStringLiteral("\n"));
        cursor.insertText(tr("— attempt %1 —").arg(attempt) + u'\n', marker);
    }
    QTextCharFormat format;
    if (chunk.value(QStringLiteral("stream")).toString() == u"stderr")
        format.setForeground(StatusPalette::stepStateColor(QStringLiteral("failed"), palette()));
    else
        format.setForeground(palette().color(QPalette::Text));
    cursor.insertText(chunk.value(QStringLiteral("data")).toString(), format);

    bar->setValue(keepAtEnd ? bar->maximum() : scrolledTo);
}

void StepOutputView::updateStatus()
{
    if (m_stepId.isEmpty()) {
        m_status->clear();
        return;
    }
    const QString stepState = m_follower.state(m_stepId);
    if (stepState.isEmpty()) {
        m_status->setText(tr("Loading output…"));
        return;
    }
    const QString state = StatusPalette::stepStateText(stepState);
    if (!isTerminalStateName(stepState)) {
        m_status->setText(stepState == u"queued" ? tr("Queued: output appears when a worker runs it")
                                                : tr("Following live output (%1)").arg(state));
        return;
    }
    const QJsonObject step = m_follower.step(m_stepId);
    const QJsonValue exitCode = step.value(QStringLiteral("exitCode"));
    QString text = exitCode.isDouble() ? tr("Finished: %1, exit code %2").arg(state).arg(exitCode.toInt())
                                       : tr("Finished: %1").arg(state);
    if (step.value(QStringLiteral("outputTruncated")).toBool())
        text += u' ' + tr("(output truncated)");
    m_status->setText(text);
}

} // namespace Swamp::Console
