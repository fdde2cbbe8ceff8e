using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class DropUnreadFeedIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Messages_ConversationId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_FeedThreads_ConversationId",
                table: "FeedThreads");

            migrationBuilder.DropIndex(
                name: "IX_FeedThreads_MessageId",
                table: "FeedThreads");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_Messages_ConversationId",
                table: "Messages",
                column: "ConversationId");

            migrationBuilder.CreateIndex(
                name: "IX_FeedThreads_ConversationId",
                table: "FeedThreads",
                column: "ConversationId");

            migrationBuilder.CreateIndex(
                name: "IX_FeedThreads_MessageId",
                table: "FeedThreads",
                column: "MessageId");
        }
    }
}
