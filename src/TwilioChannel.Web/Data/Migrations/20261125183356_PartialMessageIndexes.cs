using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class PartialMessageIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Messages_BackfillId_State_ReceivedAt",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_OrgId_ConversationId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_State_Id",
                table: "Messages");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_BackfillId_State_ReceivedAt",
                table: "Messages",
                columns: new[] { "BackfillId", "State", "ReceivedAt" },
                filter: "\"BackfillId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_Received",
                table: "Messages",
                column: "Id",
                filter: "\"State\" = 0");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_Unrouted",
                table: "Messages",
                column: "Id",
                filter: "\"State\" = 2");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Messages_BackfillId_State_ReceivedAt",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_Received",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Messages_Unrouted",
                table: "Messages");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_BackfillId_State_ReceivedAt",
                table: "Messages",
                columns: new[] { "BackfillId", "State", "ReceivedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Messages_OrgId_ConversationId",
                table: "Messages",
                columns: new[] { "OrgId", "ConversationId" });

            migrationBuilder.CreateIndex(
                name: "IX_Messages_State_Id",
                table: "Messages",
                columns: new[] { "State", "Id" });
        }
    }
}
