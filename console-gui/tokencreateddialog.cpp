#include "tokencreateddialog.h"

#include "deploysnippets.h"

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStyle>
#include <QTabWidget>
#include <QVBoxLayout>

namespace Swamp::Console {

namespace {
QPushButton *copyButton(QWidget *parent, const QString &text)
{
    auto *button = new QPushButton(QApplication::style()->standardIcon(QStyle::SP_DialogSaveButton),
                                   text, parent);
    return button;
}
} // namespace

QString TokenCreatedDialog::warningText()
{
    return tr("This token is shown once and will not be displayed again — store it now.");
}

TokenCreatedDialog::TokenCreatedDialog(const QString &orchestratorUrl, const QString &token,
                                       const QString &summary, QWidget *parent)
    : QDialog(parent)
    , m_token(new QLineEdit(token, this))
    , m_tabs(new QTabWidget(this))
{
    setAttribute(Qt::WA_DeleteOnClose);
    setWindowTitle(tr("Token created"));
    const QFont fixed = QFontDatabase::systemFont(QFontDatabase::FixedFont);

    auto *warningIcon = new QLabel(this);
    warningIcon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxWarning).pixmap(32, 32));
    auto *warning = new QLabel(warningText(), this);
    warning->setWordWrap(true);
    QFont bold = warning->font();
    bold.setBold(true);
    warning->setFont(bold);
    auto *warningRow = new QHBoxLayout;
    warningRow->addWidget(warningIcon, 0, Qt::AlignTop);
    warningRow->addWidget(warning, 1);

    auto *summaryLabel = new QLabel(summary, this);
    summaryLabel->setWordWrap(true);

    m_token->setReadOnly(true);
    m_token->setFont(fixed);
    m_token->setCursorPosition(0);
    auto *copyToken = copyButton(this, tr("&Copy token"));
    connect(copyToken, &QPushButton::clicked, this, [this] {
        QApplication::clipboard()->setText(m_token->text());
    });
    auto *tokenRow = new QHBoxLayout;
    tokenRow->addWidget(m_token, 1);
    tokenRow->addWidget(copyToken);

    const QList<DeploySnippet> snippets = DeploySnippets::all(orchestratorUrl, token);
    for (const DeploySnippet &snippet : snippets) {
        auto *page = new QWidget(m_tabs);
        auto *text = new QPlainTextEdit(snippet.text, page);
        text->setObjectName(snippet.key);
        text->setReadOnly(true);
        text->setFont(fixed);
        text->setLineWrapMode(QPlainTextEdit::NoWrap);
        auto *copy = copyButton(page, tr("Copy %1 snippet").arg(snippet.title));
        connect(copy, &QPushButton::clicked, text, [text] {
            QApplication::clipboard()->setText(text->toPlainText());
        });
        auto *layout = new QVBoxLayout(page);
        layout->addWidget(text, 1);
        layout->addWidget(copy, 0, Qt::AlignRight);
        m_tabs->addTab(page, snippet.title);
    }

    auto *snippetsLabel = new QLabel(tr("Deploy a worker with this token:"), this);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(warningRow);
    layout->addLayout(tokenRow);
    layout->addWidget(summaryLabel);
    layout->addSpacing(8);
    layout->addWidget(snippetsLabel);
    layout->addWidget(m_tabs, 1);
    layout->addWidget(buttons);
    copyToken->setFocus();
    resize(720, 560);
}

QString TokenCreatedDialog::token() const
{
    return m_token->text();
}

QStringList TokenCreatedDialog::snippets() const
{
    QStringList texts;
    for (int i = 0; i < m_tabs->count(); ++i) {
        if (auto *text = m_tabs->widget(i)->findChild<QPlainTextEdit *>())
            texts << text->toPlainText();
    }
    return texts;
}

} // namespace Swamp::Console
